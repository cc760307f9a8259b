"""SQLiteStore beyond the contract: group commit, failed groups, WAL, query cost."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from server.errors import StoreUnavailable
from server.model import Counts, Event, Rejection, Surface
from server.stores import IngestResult, SQLiteStore
from server.stores.sqlite import maintenance
from server.stores.sqlite import writer as writer_module

from .store_events import T0, B, click, rows, served, total, view


async def test_concurrent_ingests_share_one_commit(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups: list[int] = []
    real = writer_module.ingest_group

    def counting(conn: sqlite3.Connection, batches: Sequence[Any]) -> list[IngestResult]:
        groups.append(len(batches))
        return real(conn, batches)

    monkeypatch.setattr(writer_module, "ingest_group", counting)
    batches = [[served(f"i-{n}-{k}") for k in range(20)] for n in range(50)]
    results = await asyncio.gather(*(sqlite_store.ingest(b) for b in batches))
    assert results == [IngestResult(20, 0)] * 50
    assert sum(groups) == 50
    assert len(groups) < 50  # some callers were committed together
    assert (await total(sqlite_store)).served == 1000


async def test_failed_group_acknowledges_nothing_and_stores_nothing(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = writer_module.ingest_group

    def failing(conn: sqlite3.Connection, batches: Sequence[Any]) -> list[IngestResult]:
        real(conn, batches)  # everything is written, then the disk "fills up"
        raise sqlite3.OperationalError("database or disk is full")

    first = [served("i-1"), click("i-1")]
    second = [served("i-2")]
    monkeypatch.setattr(writer_module, "ingest_group", failing)
    outcomes = await asyncio.gather(
        sqlite_store.ingest(first, [Rejection(0, "bad", "{}", T0)]),
        sqlite_store.ingest(second),
        return_exceptions=True,
    )
    assert all(isinstance(o, StoreUnavailable) for o in outcomes)  # the caller may retry
    monkeypatch.setattr(writer_module, "ingest_group", real)
    assert await rows(sqlite_store) == {}
    assert await sqlite_store.rejections(5) == []
    # The client's retry is new, not a duplicate: the failed group was rolled back.
    assert await sqlite_store.ingest(first + second) == IngestResult(3, 0)
    assert await total(sqlite_store) == Counts(served=2, viewable=1, clicks=1)


async def test_close_finishes_queued_writes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "gm.db")
    await store.open()
    pending = [asyncio.ensure_future(store.ingest([served(f"i-{n}")])) for n in range(30)]
    await asyncio.sleep(0)  # every ingest is queued
    await store.close()
    assert [p.result() for p in pending] == [IngestResult(1, 0)] * 30
    again = SQLiteStore(tmp_path / "gm.db")
    await again.open()
    assert (await total(again)).served == 30
    await again.close()


async def test_file_uses_wal_and_normal_sync(sqlite_store: SQLiteStore) -> None:
    await sqlite_store.ingest([served("i-1")])
    conn = sqlite3.connect(sqlite_store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


async def test_month_query_reads_the_rollup_key_not_events(sqlite_store: SQLiteStore) -> None:
    events: list[Event] = []
    for n in range(400):
        events.append(served(f"i-{n}", ts=T0 + (n % 8) * B, surface=Surface.SEARCH))
    for start in range(0, len(events), 100):
        await sqlite_store.ingest(events[start : start + 100])
    conn = sqlite3.connect(sqlite_store.path)
    try:
        sql = (
            "EXPLAIN QUERY PLAN SELECT * FROM rollups WHERE gig IN (?) AND bucket >= ? "
            "AND bucket < ?"
        )
        plan = " ".join(r[-1] for r in conn.execute(sql, ("g-1", T0, T0 + 30 * 96 * B)))
        assert "USING PRIMARY KEY" in plan and "events" not in plan
        assert conn.execute("SELECT COUNT(*) FROM rollups").fetchone()[0] == 8
    finally:
        conn.close()
    assert len(await rows(sqlite_store, start=T0, end=T0 + 30 * 96 * B)) == 8


async def test_open_creates_the_file_but_never_folders(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "gm.db")
    await store.open()
    assert await store.ping() is True
    await store.close()
    missing = SQLiteStore(tmp_path / "a" / "b" / "gm.db")
    with pytest.raises(StoreUnavailable, match=r"folder .*/a/b does not exist"):
        await missing.open()
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.mkdir(), "it is a folder"),
        (lambda p: p.write_text("not a database, just text " * 100), "gigmetrics database"),
    ],
)
async def test_impossible_paths_say_why(
    tmp_path: Path, make: Callable[[Path], object], says: str
) -> None:
    path = tmp_path / "gm.db"
    make(path)
    with pytest.raises(StoreUnavailable, match=says):
        await SQLiteStore(path).open()


async def test_files_of_earlier_versions_get_the_key_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE api_keys (key_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL UNIQUE, "
            "name TEXT NOT NULL, sellers TEXT NOT NULL, can_write INTEGER NOT NULL, "
            "created INTEGER NOT NULL, revoked INTEGER)"
        )
        conn.execute("INSERT INTO api_keys VALUES ('k-1', 'h', 'old', '[\"s\"]', 0, 5, NULL)")
    conn.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        await store.touch_key("k-1", 7)
        [key] = await store.keys()
        assert (key.name, key.expires, key.last_used) == ("old", None, 7)
    finally:
        await store.close()


async def test_purge_walks_tables_in_chunks(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "PURGE_CHUNK", 3)
    old = [served(f"i-{n}", ts=T0 + n) for n in range(10)]
    new = [served(f"i-new-{n}", ts=T0 + 4 * B + n) for n in range(7)]
    views = [view(f"p-{n}", ts=T0 + n * B) for n in range(8)]
    mixed = [e for pair in zip(old, new, strict=False) for e in pair] + old[7:] + views
    await sqlite_store.ingest(mixed)
    await sqlite_store.purge(raw_before=T0 + 4 * B, buckets_before=T0 + 4 * B)
    assert await sqlite_store.ingest(old + new + views) == IngestResult(10 + 4, 7 + 4)
    assert await rows(sqlite_store) == {
        ("g-1", T0, Surface.SEARCH): (10, 0, 0, 0, 0, 0),
        ("g-1", T0 + 4 * B, Surface.SEARCH): (7, 0, 0, 0, 0, 0),
        **{("g-1", T0 + n * B, Surface.OTHER): (0, 0, 0, 1, 0, 0) for n in range(8)},
    }


async def test_close_waits_for_a_running_read(sqlite_store: SQLiteStore) -> None:
    def slow(conn: sqlite3.Connection) -> int:
        time.sleep(0.2)
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    reading = asyncio.ensure_future(sqlite_store._read(slow))
    await asyncio.sleep(0.05)
    await sqlite_store.close()  # would crash the process if it closed the busy connection
    assert await reading == 0
    assert await sqlite_store.ping() is False


LAYOUT_1 = """
CREATE TABLE events (
    id TEXT PRIMARY KEY, gig TEXT NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL,
    imp TEXT, pv TEXT, surface TEXT, context TEXT, position INTEGER, seller TEXT,
    automated INTEGER NOT NULL, sig TEXT, invalid TEXT
) WITHOUT ROWID;
CREATE TABLE impressions (
    key TEXT PRIMARY KEY, bucket INTEGER NOT NULL, surface TEXT NOT NULL,
    viewable INTEGER NOT NULL, clicked INTEGER NOT NULL, position INTEGER,
    surface_known INTEGER NOT NULL, context TEXT
) WITHOUT ROWID;
"""


async def test_a_file_of_the_wide_event_layout_is_migrated_and_keeps_deduping(
    tmp_path: Path,
) -> None:
    """Files written before raw events were narrowed (layout 1): their events still dedupe
    retries, their impressions still count once, and nothing else about them changes."""
    path = tmp_path / "old.db"
    first = [served("i-1"), served("i-2")]
    with sqlite3.connect(path) as conn:
        conn.executescript(LAYOUT_1)
        conn.executemany(
            "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(e.id, e.gig, e.type.value, e.ts, e.imp, None, "search", None, None, None, 0,
              None, None) for e in first]
            + [("bot-1", "g-1", "served", T0, "i-9", None, "search", None, None, None, 1,
                None, None)],
        )
        conn.executemany(
            "INSERT INTO impressions VALUES (?,?,?,?,?,?,?,?)",
            [(f"{e.imp}\x1f{e.gig}", T0, "search", 0, 0, None, 1, None) for e in first],
        )
        conn.execute(
            "CREATE TABLE rollups (gig TEXT NOT NULL, bucket INTEGER NOT NULL, surface TEXT "
            "NOT NULL, served INTEGER NOT NULL, viewable INTEGER NOT NULL, clicks INTEGER NOT "
            "NULL, views INTEGER NOT NULL, position_sum INTEGER NOT NULL, position_count "
            "INTEGER NOT NULL, PRIMARY KEY (gig, bucket, surface)) WITHOUT ROWID"
        )
        conn.execute("INSERT INTO rollups VALUES ('g-1', ?, 'search', 2, 0, 0, 0, 0, 0)", (T0,))
    conn.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        # The retry of the old batch is all duplicates; a click on an old impression counts
        # (viewable and click) under the surface it was shown on.
        assert await store.ingest([*first, click("i-1")]) == IngestResult(1, 2)
        assert await rows(store) == {("g-1", T0, Surface.SEARCH): (2, 1, 1, 0, 0, 0)}
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(events)")]
        assert columns == ["id", "gig", "ts", "type", "seller", "invalid"]
        assert conn.execute("SELECT id, type, invalid FROM events ORDER BY id").fetchall()[:1] == [
            ("bot-1", 0, "declared_automation")
        ]
        assert {r[0] for r in conn.execute("SELECT typeof(surface) FROM impressions")} == {
            "integer"
        }
    conn.close()


async def test_a_killed_writer_process_fails_its_batches_and_their_retries_count_once(
    tmp_path: Path,
) -> None:
    """`serve`'s writer process killed mid-load: what it had not committed is refused with
    StoreUnavailable (never acknowledged), the next batch starts a new one, and every retry
    of a refused batch counts exactly once."""
    store = SQLiteStore(tmp_path / "gm.db", writer="process")
    await store.open()
    try:
        batches = [[served(f"i-{n}-{k}") for k in range(20)] for n in range(200)]
        sent = [asyncio.ensure_future(store.ingest(batch)) for batch in batches]
        await asyncio.sleep(0)  # every batch is on its way to the writer process
        child = store._writer._child  # type: ignore[union-attr]
        assert child is not None
        os.kill(child.process.pid, signal.SIGKILL)
        outcomes = await asyncio.gather(*sent, return_exceptions=True)
        refused = [b for b, o in zip(batches, outcomes, strict=True)
                   if isinstance(o, StoreUnavailable)]
        assert refused, "the kill came after every commit: nothing was tested"
        assert all(isinstance(o, IngestResult | StoreUnavailable) for o in outcomes)
        for batch in refused:
            await store.ingest(batch)
        assert (await total(store)).served == 200 * 20
    finally:
        await store.close()


def writer_processes() -> list[int]:
    """Pids of this process's children that are SQLite writer processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines()
                    if line.startswith("PPid:"))
        if ppid == os.getpid() and b"writer_child" in cmdline and "Z" not in status.split(
            "State:", 1)[1][:4]:
            found.append(int(entry.name))
    return found


async def test_batches_that_find_the_writer_process_gone_start_exactly_one(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "gm.db", writer="process")
    await store.open()
    try:
        child = store._writer._child  # type: ignore[union-attr]
        assert child is not None and writer_processes() == [child.process.pid]
        os.kill(child.process.pid, signal.SIGKILL)
        child.process.wait()
        for _ in range(200):  # until the receiver has seen the pipe end
            if child.lost:
                break
            await asyncio.sleep(0.01)
        assert child.lost
        batches = [[served(f"i-{n}-{k}") for k in range(5)] for n in range(16)]
        await asyncio.gather(*(store.ingest(batch) for batch in batches))
        assert len(writer_processes()) == 1
        assert (await total(store)).served == 16 * 5
    finally:
        await store.close()
    assert writer_processes() == []


async def test_acknowledged_batches_are_fsynced_by_default(tmp_path: Path) -> None:
    for writer in ("thread", "process"):
        store = SQLiteStore(tmp_path / f"{writer}.db", writer=writer)
        await store.open()
        try:
            level = await store._writer.call(
                lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0]
            )
            assert level == 2  # FULL
            if writer == "process":
                child = store._writer._child  # type: ignore[union-attr]
                assert child.process.args[-1] == "full"
        finally:
            await store.close()
    relaxed = SQLiteStore(tmp_path / "normal.db", synchronous="normal")
    await relaxed.open()
    try:
        assert await relaxed._writer.call(
            lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0]
        ) == 1  # NORMAL
    finally:
        await relaxed.close()
