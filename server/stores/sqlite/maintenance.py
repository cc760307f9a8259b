"""Retention and data deletion in the SQLite file.

The raw tables have neither a time nor a gig index (either would cost ingest a page written
per event), so both walk them in key ranges of PURGE_CHUNK rows: a reader finds each range's
last key, the writer deletes the range's rows in one statement, so no row crosses into
Python and ingests go on between ranges. Rows keyed by gig go by primary-key ranges.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol, TypeVar

from ...edge.untrusted import raw_copy
from ...model import DAY_MS, bucket_of
from ..base import REJECTIONS_KEPT, DeletedData
from . import hourly
from .reads import LISTED, listed

T = TypeVar("T")

PURGE_CHUNK = 5_000


class Run(Protocol):
    """Runs work on a connection: the store's reader, or its writer (one transaction)."""

    async def __call__(self, work: Callable[[sqlite3.Connection], T], /) -> T: ...


async def purge(read: Run, write: Run, raw_before: int, buckets_before: int) -> None:
    """Drop raw data of whole buckets before `raw_before`, rollups before `buckets_before`."""
    raw_floor = bucket_of(raw_before)
    for table, key, time in (
        ("events", "id", "ts"),
        ("impressions", "key", "bucket"),
        ("page_views", "key", "bucket"),
    ):
        await _purge_table(read, write, table, key, time, raw_floor)

    def purge(conn: sqlite3.Connection) -> None:
        # Every rollup's gig is in `gigs`: one primary-key range per gig, no scan.
        gigs = [(gig, buckets_before) for (gig,) in conn.execute("SELECT gig FROM gigs")]
        conn.executemany("DELETE FROM rollups WHERE gig = ? AND bucket < ?", gigs)
        hourly.tidy(conn, gigs)
        conn.executemany("DELETE FROM context_rollups WHERE gig = ? AND bucket < ?", gigs)
        conn.executemany("DELETE FROM invalid_rollups WHERE gig = ? AND bucket < ?", gigs)
        conn.executemany("DELETE FROM split_rollups WHERE gig = ? AND bucket < ?", gigs)
        conn.execute("DELETE FROM renders WHERE ts < ?", (raw_floor,))
        conn.executemany(
            "DELETE FROM context_days WHERE gig = ? AND day < ?",
            [(gig, before // DAY_MS) for gig, before in gigs],
        )
        conn.executemany(
            "DELETE FROM variant_days WHERE gig = ? AND day < ?",
            [(gig, before // DAY_MS) for gig, before in gigs],
        )
        conn.execute("DELETE FROM rejections WHERE received < ?", (raw_floor,))
        conn.execute(
            "DELETE FROM rejections WHERE id <= "
            "(SELECT id FROM rejections ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (REJECTIONS_KEPT,),
        )

    await write(purge)


async def _purge_table(
    read: Run, write: Run, table: str, key: str, time: str, before: int
) -> None:
    """Delete the rows of `table` older than `before`, a range of PURGE_CHUNK keys at a time."""
    edge = f"SELECT {key} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT 1 OFFSET ?"
    delete = f"DELETE FROM {table} WHERE {key} > ? AND {key} <= ? AND {time} < ?"
    delete_rest = f"DELETE FROM {table} WHERE {key} > ? AND {time} < ?"
    after = ""
    while True:
        found = await read(partial(_fetch, edge, (after, PURGE_CHUNK - 1)))
        if not found:
            await write(partial(_count_deleted, delete_rest, (after, before)))
            return
        last = found[0][0]
        await write(partial(_count_deleted, delete, (after, last, before)))
        after = last


async def delete_data(
    read: Run, write: Run, gigs: Sequence[str], seller: str | None = None
) -> DeletedData:
    """Delete everything of these gigs (and raw events and rejections naming `seller`):
    the raw tables walked in key ranges, the rest in one transaction."""
    wanted = sorted(set(gigs))
    deleted = DeletedData()
    if wanted:
        of_key = f"substr(key, instr(key, char(31)) + 1) IN {LISTED}"
        of_gig = f"gig IN {LISTED}"
        gig_list = listed(wanted)
        deleted += DeletedData(
            impressions=await _delete_walk(read, write, "impressions", "key", of_key, gig_list),
            page_views=await _delete_walk(read, write, "page_views", "key", of_key, gig_list),
            events=await _delete_walk(read, write, "events", "id", of_gig, gig_list),
        )
    if seller is not None:
        deleted += DeletedData(
            events=await _delete_walk(read, write, "events", "id", "seller = ?", seller)
        )
    needles = [_named("gig", gig) for gig in wanted]
    if seller is not None:
        needles.append(_named("seller", seller))

    def delete(conn: sqlite3.Connection) -> DeletedData:
        tables = ("gigs", "rollups", "context_rollups", "context_days", "invalid_rollups",
                  "gig_claims", "split_rollups", "variant_days")
        counts = dict.fromkeys(tables, 0)
        for gig in wanted:
            for table in counts:
                counts[table] += conn.execute(
                    f"DELETE FROM {table} WHERE gig = ?", (gig,)
                ).rowcount
        for gig in wanted:  # after rollups: their triggers have zeroed these rows
            conn.execute("DELETE FROM hourly_rollups WHERE gig = ?", (gig,))
        if seller is not None:  # claims the seller made on other sellers' gigs
            counts["gig_claims"] += conn.execute(
                "DELETE FROM gig_claims WHERE seller = ?", (seller,)
            ).rowcount
        rejections = sum(
            conn.execute(
                "DELETE FROM rejections WHERE instr(raw, ?) > 0", (needle,)
            ).rowcount
            for needle in needles
        )
        return DeletedData(**counts, rejections=rejections)

    return deleted + await write(delete)


async def _delete_walk(
    read: Run, write: Run, table: str, key: str, where: str, param: str
) -> int:
    """Delete the rows of `table` matching `where` (its one `?` is `param`), a range of
    PURGE_CHUNK keys per transaction; returns how many."""
    edge = f"SELECT {key} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT 1 OFFSET ?"
    deleted = 0
    after = ""
    while True:
        found = await read(partial(_fetch, edge, (after, PURGE_CHUNK - 1)))
        if not found:
            sql = f"DELETE FROM {table} WHERE {key} > ? AND ({where})"
            return deleted + await write(partial(_count_deleted, sql, (after, param)))
        last = found[0][0]
        sql = f"DELETE FROM {table} WHERE {key} > ? AND {key} <= ? AND ({where})"
        deleted += await write(partial(_count_deleted, sql, (after, last, param)))
        after = last


def _fetch(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def _count_deleted(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> int:
    count: int = conn.execute(sql, params).rowcount
    return count


def _named(field: str, value: str) -> str:
    """How a rejected event's kept raw copy spells `"field": "value"`."""
    return raw_copy({field: value})[1:-1]
