"""SQLite's hourly rollups always equal their quarter-hours summed: after ingests, data
deletion and purges; and a file made before they existed gets them when it is opened."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from server.model import EventType
from server.stores import IngestResult, SQLiteStore
from server.stores.sqlite.hourly import HOUR_MS, TRIGGERS
from server.stores.sqlite.schema import LAYOUT, LAYOUT_3_COLUMNS

from .store_events import T0, B, event, served, viewable
from .test_span_reads import GIGS, START, traffic

Sums = dict[tuple[str, int, str], tuple[int, ...]]


def hours_of_rollups(path: Path) -> Sums:
    with sqlite3.connect(path) as conn:
        return {
            (gig, hour, surface): tuple(counts)
            for gig, hour, surface, *counts in conn.execute(
                f"SELECT gig, bucket - bucket % {HOUR_MS}, surface, sum(served), sum(viewable), "
                "sum(clicks), sum(views), sum(position_sum), sum(position_count), sum(orders) "
                "FROM rollups "
                "GROUP BY 1, 2, 3"
            )
        }


def hourly_rows(path: Path) -> Sums:
    with sqlite3.connect(path) as conn:
        return {
            (gig, hour, surface): tuple(counts)
            for gig, hour, surface, *counts in conn.execute("SELECT * FROM hourly_rollups")
        }


async def test_hours_follow_ingests_deletions_and_purges(tmp_path: Path) -> None:
    path = tmp_path / "gm.db"
    store = SQLiteStore(path)
    await store.open()
    try:
        rng = random.Random(1)
        await store.ingest(traffic(rng, 300))
        await store.ingest(traffic(rng, 300))  # the same impressions again: updates
        assert hourly_rows(path) == hours_of_rollups(path) != {}
        await store.delete_data(["g-2"])
        assert hourly_rows(path) == hours_of_rollups(path)
        assert not [key for key in hourly_rows(path) if key[0] == "g-2"]
        cut = START + 5 * 96 * B + 2 * B  # inside an hour
        await store.purge(raw_before=cut, buckets_before=cut)
        assert hourly_rows(path) == hours_of_rollups(path) != {}
        assert min(hour for _, hour, _ in hourly_rows(path)) >= cut - cut % HOUR_MS
    finally:
        await store.close()


async def test_a_file_made_before_hourly_rollups_gets_them_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = SQLiteStore(path)
    await store.open()
    await store.ingest(traffic(random.Random(2), 200))
    before = await store.span_totals(GIGS, [T0, START + 3 * 86_400_000, START + 15 * 86_400_000])
    await store.close()
    with sqlite3.connect(path) as conn:  # what today's release leaves behind
        for trigger in ("insert", "update", "delete"):
            conn.execute(f"DROP TRIGGER rollups_to_hours_{trigger}")
        conn.execute("DROP TABLE hourly_rollups")

    reopened = SQLiteStore(path)
    await reopened.open()
    try:
        assert hourly_rows(path) == hours_of_rollups(path) != {}
        after = await reopened.span_totals(
            GIGS, [T0, START + 3 * 86_400_000, START + 15 * 86_400_000]
        )
        assert sorted(map(repr, after)) == sorted(map(repr, before))
    finally:
        await reopened.close()


async def test_a_layout_2_file_gains_orders_variants_and_devices_on_open(tmp_path: Path) -> None:
    path = tmp_path / "gm.db"
    store = SQLiteStore(path)
    await store.open()
    await store.ingest([served("i-1", context="logos"), viewable("i-1", ts=T0 + 1)])
    await store.close()
    with sqlite3.connect(path) as conn:  # back to layout 2: no order columns, old triggers
        for trigger in TRIGGERS:
            conn.execute(f"DROP TRIGGER {trigger}")
        for table, column, _ in LAYOUT_3_COLUMNS:
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 2")
    store = SQLiteStore(path)
    await store.open()
    try:
        assert await store.ingest([viewable("i-1", ts=T0 + 2)]) == IngestResult(1, 0)
        await store.ingest([event(EventType.ORDER, imp="i-1", ts=T0 + 5 * B)])
        [row] = await store.surface_totals(["g-1"], 0, T0 + 100 * B)
        assert (row.counts.served, row.counts.viewable, row.counts.orders) == (1, 1, 1)
        [ctx] = await store.context_totals(["g-1"], 0, T0 + 100 * B)
        assert ctx.counts.orders == 1
    finally:
        await store.close()
    assert hourly_rows(path) == hours_of_rollups(path) != {}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LAYOUT
