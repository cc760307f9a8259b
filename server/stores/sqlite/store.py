"""The embedded store: one SQLite file; writes go through one writer thread with group
commit (`writer.py`), reads use a connection per thread beside it (WAL).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import partial
from time import time_ns
from typing import Any, TypeVar

from ...counting.metrics import ContextRow, Metrics, RollupRow
from ...counting.ownership import Conflict
from ...edge.untrusted import raw_copy
from ...errors import StoreUnavailable
from ...model import DAY_MS, Counts, Event, Rejection, Surface, bucket_of
from ..base import REJECTIONS_KEPT, ApiKey, DeletedData, IngestResult, InvalidRow, StoredRejection
from ..changes import ChangeNotifier
from ..window_totals import WindowTotals
from . import hourly
from .connection import connect, unavailable
from .ingest import chunks
from .writer import Writer
from .writer_process import ProcessWriter

T = TypeVar("T")

WRITERS: dict[str, type[Writer] | type[ProcessWriter]] = {
    "thread": Writer, "process": ProcessWriter,
}

COUNT_COLUMNS = ("served", "viewable", "clicks", "views", "position_sum", "position_count")
CONTEXT_COLUMNS = ("served", "viewable", "clicks", "position_sum", "position_count")
PURGE_CHUNK = 5_000
# The gigs of a read, as one JSON array parameter: no IN list to cut into chunks.
WANTED = "wanted(gig) AS (SELECT value FROM json_each(?))"
KEY_COLUMNS = (
    "key_id, secret_hash, name, sellers, can_write, created, revoked, expires, last_used"
)
# Headroom for a few full batches: a disk that can take less is not ready.
PROBE_BYTES = 1024 * 1024


class SQLiteStore:
    """gigmetrics in one SQLite file (the default store)."""

    def __init__(self, path: str | os.PathLike[str], *, writer: str = "thread") -> None:
        """`writer`: "thread" (beside the event loop, sharing its GIL) or "process" (ingests
        counted and written by a child process: `writer_process.py`, for `serve`)."""
        self.path = os.fspath(path)
        self._notifier = ChangeNotifier()
        if writer not in WRITERS:
            raise ValueError(f"writer must be one of {', '.join(WRITERS)}, not {writer!r}")
        self._writer: Writer | ProcessWriter = WRITERS[writer](
            self.path, on_commit=self._committed
        )
        self._totals = WindowTotals(_now_ms())
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._reading = 0  # reads running now; a connection is closed only when none is
        self._readers_lock = threading.Condition()
        self._open = False

    def _committed(self, gigs: set[str]) -> None:
        """After a group commit (writer thread): kept totals of these gigs are stale, and
        live updates hear of them."""
        self._totals.changed(gigs, _now_ms())
        self._notifier.publish(gigs)

    async def open(self) -> None:
        """Create the file and tables if missing, and start the writer thread.

        The folder must exist: a typo in the path should not quietly start an empty store.
        """
        if self._open:
            return
        where = os.path.abspath(self.path)
        folder = os.path.dirname(where)
        if not os.path.isdir(folder):
            raise StoreUnavailable(
                f"cannot open the SQLite database {where}: the folder {folder} does not exist. "
                "Create it first, or fix GIGMETRICS_DATABASE_URL (sqlite:///relative/path.db "
                "or sqlite:////absolute/path.db)."
            )
        if os.path.isdir(where):
            raise StoreUnavailable(
                f"cannot open the SQLite database {where}: it is a folder. Name a file in it, "
                f"e.g. sqlite:///{os.path.join(self.path, 'gigmetrics.db')}."
            )
        try:
            await self._writer.start()  # it creates or migrates the tables (`schema.py`)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(
                f"cannot open the SQLite database {where}: {exc}. Check that the file is a "
                "gigmetrics database and that this user may read and write it and its folder."
            ) from exc
        self._open = True

    async def close(self) -> None:
        """Finish every queued write and running read, then close all connections."""
        with self._readers_lock:
            self._open = False
        await self._writer.stop()
        await asyncio.to_thread(self._close_readers)

    async def ping(self) -> bool:
        """True while the file answers `SELECT 1`."""
        if not self._open:
            return False
        try:
            return bool(await self._read(lambda c: c.execute("SELECT 1").fetchone()[0] == 1))
        except (sqlite3.Error, StoreUnavailable):
            return False

    async def probe_write(self) -> None:
        """Write (and drop) a row that needs new pages: what a full disk refuses first."""

        def probe(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO write_probe VALUES (zeroblob(?))", (PROBE_BYTES,))
            conn.execute("DELETE FROM write_probe")

        await self._writer.call(probe)

    async def ingest(
        self, events: Sequence[Event], rejections: Sequence[Rejection] = ()
    ) -> IngestResult:
        """Queue for the writer; returns once the group this batch joined has committed."""
        return await self._writer.ingest(events, rejections)

    async def surface_totals(self, gigs: Sequence[str], start: int, end: int) -> list[RollupRow]:
        """Rows summed per (gig, surface) over the window, in SQL from the hourly rollups
        and the quarter-hours at the window's ends; `bucket` is `start`."""
        return await self.span_totals(gigs, [start, end])

    async def span_totals(self, gigs: Sequence[str], edges: Sequence[int]) -> list[RollupRow]:
        """Rows summed per (gig, span, surface) in SQL: each span's whole hours from
        `hourly_rollups`, its quarter-hour ends from `rollups` (`hourly.py`); only the sums
        cross into Python."""
        if len(edges) < 2 or not gigs:
            return []
        sums = ", ".join(f"SUM({name})" for name in COUNT_COLUMNS)
        sql = "WITH " + WANTED + ", " + hourly.span_rows(
            edges, f"gig, s, surface, {sums}"
        ) + " GROUP BY gig, s, surface"

        def query(conn: sqlite3.Connection) -> list[RollupRow]:
            return [
                RollupRow(gig, at, Surface(surface), Counts(*counts))
                for gig, at, surface, *counts in conn.execute(sql, (_json_list(gigs),))
            ]

        return await self._read(query)

    async def gig_totals(
        self, gigs: Sequence[str], start: int, end: int, click_surfaces: frozenset[Surface]
    ) -> dict[str, Metrics]:
        """Each gig's totals over the window with only click surfaces' clicks: kept totals
        of gigs unchanged since they were read (`WindowTotals`), the others summed in SQL
        (one row per gig crosses into Python); gigs without rows are left out."""
        if not gigs:
            return {}
        found, stale, stamp = self._totals.lookup(gigs, start, end, click_surfaces)
        if stale:
            fresh = await self._read(partial(_gig_totals, stale, start, end, click_surfaces))
            self._totals.keep(stamp, start, end, click_surfaces, fresh)
            found.update(fresh)
        return {gig: m for gig, m in found.items() if m.served or m.viewable or m.views
                or m.clicks or m.position_count}

    async def context_totals(
        self, gigs: Sequence[str], start: int, end: int
    ) -> list[ContextRow]:
        """Context rollups summed per (gig, surface, context) in SQL, one primary-key range
        per gig."""
        sums = ", ".join(f"SUM({name})" for name in CONTEXT_COLUMNS)
        sql = (
            f"SELECT gig, surface, context, {sums} FROM context_rollups "
            "WHERE gig IN ({marks}) AND bucket >= ? AND bucket < ? "
            "GROUP BY gig, surface, context"
        )

        def query(conn: sqlite3.Connection) -> list[ContextRow]:
            found: list[ContextRow] = []
            for chunk in chunks(sorted(set(gigs))):
                marks = ",".join("?" * len(chunk))
                for gig, surface, context, *counts in conn.execute(
                    sql.format(marks=marks), (*chunk, start, end)
                ):
                    served, viewable, clicks, position_sum, position_count = counts
                    found.append(ContextRow(gig, Surface(surface), context, Counts(
                        served, viewable, clicks, 0, position_sum, position_count
                    )))
            return found

        return await self._read(query)

    async def sellers(self) -> list[str]:
        """Every seller some gig belongs to, sorted (through the seller index)."""
        sql = "SELECT DISTINCT seller FROM gigs WHERE seller IS NOT NULL ORDER BY seller"
        return await self._read(lambda c: [r[0] for r in c.execute(sql)])

    async def gigs_of_sellers(self, sellers: Sequence[str] | None) -> list[str]:
        """Gig ids seen with one of these sellers (every gig for None), sorted."""
        if sellers is None:
            return await self._read(
                lambda c: [r[0] for r in c.execute("SELECT gig FROM gigs ORDER BY gig")]
            )

        def query(conn: sqlite3.Connection) -> list[str]:
            found: set[str] = set()
            for chunk in chunks(sorted(set(sellers))):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT gig FROM gigs WHERE seller IN ({marks})"
                found.update(r[0] for r in conn.execute(sql, chunk))
            return sorted(found)

        return await self._read(query)

    async def seller_of(self, gigs: Sequence[str]) -> dict[str, str]:
        """The seller last seen for each of these gigs that has one."""

        def query(conn: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for chunk in chunks(sorted(set(gigs))):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT gig, seller FROM gigs WHERE gig IN ({marks}) AND seller IS NOT NULL"
                found.update(conn.execute(sql, chunk).fetchall())
            return found

        return await self._read(query)

    async def rejections(self, limit: int) -> list[StoredRejection]:
        """The newest rejected events, newest first."""
        sql = "SELECT received, idx, reason, raw FROM rejections ORDER BY id DESC LIMIT ?"
        return await self._read(
            lambda c: [StoredRejection(*row) for row in c.execute(sql, (max(limit, 0),))]
        )

    def counters(self) -> Any:
        """A `limits` storage for over-rate traffic: in memory (one process per file)."""
        from limits.aio.storage import MemoryStorage

        return MemoryStorage()

    async def invalid_totals(self, gigs: Sequence[str], start: int, end: int) -> list[InvalidRow]:
        """Invalid-traffic rows summed per (gig, reason), through the primary key."""

        def query(conn: sqlite3.Connection) -> list[InvalidRow]:
            found: list[InvalidRow] = []
            for chunk in chunks(sorted(set(gigs))):
                marks = ",".join("?" * len(chunk))
                sql = (
                    "SELECT gig, reason, sum(events) FROM invalid_rollups WHERE gig IN "
                    f"({marks}) AND bucket >= ? AND bucket < ? "
                    "GROUP BY gig, reason ORDER BY gig, reason"
                )
                found.extend(InvalidRow(*row) for row in conn.execute(sql, (*chunk, start, end)))
            return found

        return await self._read(query)

    async def set_owner(self, gig: str, seller: str, when: int) -> None:
        """Make `seller` the owner of `gig`, whatever it was."""
        sql = (
            "INSERT INTO gigs VALUES (?,?,?) ON CONFLICT(gig) DO UPDATE SET "
            "seller=excluded.seller, seller_ts=excluded.seller_ts"
        )
        await self._writer.call(partial(_execute, sql, (gig, seller, when)))

    async def gig_claims(self, limit: int) -> list[Conflict]:
        """Sellers named for gigs another seller owns, most recent first."""
        sql = (
            "SELECT gig, seller, first, last, events FROM gig_claims "
            "ORDER BY last DESC, gig, seller LIMIT ?"
        )
        return await self._read(
            lambda c: [Conflict(*row) for row in c.execute(sql, (max(limit, 0),))]
        )

    async def purge(self, raw_before: int, buckets_before: int) -> None:
        """Drop raw data of whole buckets before `raw_before`, rollups before `buckets_before`."""
        raw_floor = bucket_of(raw_before)
        for table, key, time in (
            ("events", "id", "ts"),
            ("impressions", "key", "bucket"),
            ("page_views", "key", "bucket"),
        ):
            await self._purge_table(table, key, time, raw_floor)

        def purge(conn: sqlite3.Connection) -> None:
            # Every rollup's gig is in `gigs`: one primary-key range per gig, no scan.
            gigs = [(gig, buckets_before) for (gig,) in conn.execute("SELECT gig FROM gigs")]
            conn.executemany("DELETE FROM rollups WHERE gig = ? AND bucket < ?", gigs)
            hourly.tidy(conn, gigs)
            conn.executemany("DELETE FROM context_rollups WHERE gig = ? AND bucket < ?", gigs)
            conn.executemany("DELETE FROM invalid_rollups WHERE gig = ? AND bucket < ?", gigs)
            conn.execute("DELETE FROM renders WHERE ts < ?", (raw_floor,))
            conn.executemany(
                "DELETE FROM context_days WHERE gig = ? AND day < ?",
                [(gig, before // DAY_MS) for gig, before in gigs],
            )
            conn.execute("DELETE FROM rejections WHERE received < ?", (raw_floor,))
            conn.execute(
                "DELETE FROM rejections WHERE id <= "
                "(SELECT id FROM rejections ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (REJECTIONS_KEPT,),
            )

        await self._writer.call(purge)
        self._totals.forget()

    async def _purge_table(self, table: str, key: str, time: str, before: int) -> None:
        """Walk a table in key ranges of PURGE_CHUNK rows: a reader finds each range's last
        key, the writer deletes the range's old rows in one statement, so no row crosses into
        Python (the tables have no time index: it would cost ingest a third of its speed) and
        ingests go on between ranges."""
        edge = f"SELECT {key} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT 1 OFFSET ?"
        delete = f"DELETE FROM {table} WHERE {key} > ? AND {key} <= ? AND {time} < ?"
        delete_rest = f"DELETE FROM {table} WHERE {key} > ? AND {time} < ?"
        after = ""
        while True:
            found = await self._read(partial(_fetch, edge, (after, PURGE_CHUNK - 1)))
            if not found:
                await self._writer.call(partial(_execute, delete_rest, (after, before)))
                return
            last = found[0][0]
            await self._writer.call(partial(_execute, delete, (after, last, before)))
            after = last

    async def save_key(self, key: ApiKey) -> None:
        """Store a new API key (its id and secret hash must be new)."""
        row = (
            key.key_id,
            key.secret_hash,
            key.name,
            json.dumps(list(key.sellers)),
            int(key.can_write),
            key.created,
            key.revoked,
            key.expires,
            key.last_used,
        )
        sql = f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
        await self._writer.call(lambda c: c.execute(sql, row))

    async def keys(self) -> list[ApiKey]:
        """All API keys, revoked ones too, oldest first."""
        sql = f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created, key_id"
        return await self._read(lambda c: [_api_key(row) for row in c.execute(sql)])

    async def key_by_hash(self, secret_hash: str) -> ApiKey | None:
        """The key whose secret hashes to `secret_hash`, revoked or not."""
        sql = f"SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = ?"
        row = await self._read(lambda c: c.execute(sql, (secret_hash,)).fetchone())
        return None if row is None else _api_key(row)

    async def revoke_key(self, key_id: str, when: int) -> bool:
        """Mark a key revoked (the first revocation time stays); False when there is none."""
        sql = "UPDATE api_keys SET revoked = COALESCE(revoked, ?) WHERE key_id = ?"
        changed: int = await self._writer.call(lambda c: c.execute(sql, (when, key_id)).rowcount)
        return changed > 0

    async def touch_key(self, key_id: str, when: int) -> None:
        """Record a use of the key; `last_used` only moves forward."""
        sql = "UPDATE api_keys SET last_used = MAX(COALESCE(last_used, 0), ?) WHERE key_id = ?"
        await self._writer.call(partial(_execute, sql, (when, key_id)))

    def changes(self) -> AbstractAsyncContextManager[AsyncIterator[frozenset[str]]]:
        """Gigs changed by this process's commits (SQLite has one writing process)."""
        return self._notifier.listen()

    async def delete_data(self, gigs: Sequence[str], seller: str | None = None) -> DeletedData:
        """Delete everything of these gigs (and raw events and rejections naming `seller`).

        Rows keyed by gig go by primary-key ranges in one transaction; the raw tables have
        no gig index, so they are walked in key ranges like `purge`, and ingests go on
        between ranges.
        """
        wanted = sorted(set(gigs))
        deleted = DeletedData()
        for chunk in chunks(wanted):
            marks = ",".join("?" * len(chunk))
            of_key = f"substr(key, instr(key, char(31)) + 1) IN ({marks})"
            deleted += DeletedData(
                impressions=await self._delete_walk("impressions", "key", of_key, chunk),
                page_views=await self._delete_walk("page_views", "key", of_key, chunk),
                events=await self._delete_walk("events", "id", f"gig IN ({marks})", chunk),
            )
        if seller is not None:
            deleted += DeletedData(
                events=await self._delete_walk("events", "id", "seller = ?", [seller])
            )
        needles = [_named("gig", gig) for gig in wanted]
        if seller is not None:
            needles.append(_named("seller", seller))

        def delete(conn: sqlite3.Connection) -> DeletedData:
            tables = ("gigs", "rollups", "context_rollups", "context_days", "invalid_rollups",
                      "gig_claims")
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

        deleted += await self._writer.call(delete)
        self._committed(set(wanted))
        return deleted

    async def _delete_walk(
        self, table: str, key: str, where: str, params: Sequence[Any]
    ) -> int:
        """Delete the rows of `table` matching `where`, a range of PURGE_CHUNK keys per
        transaction; returns how many."""
        edge = f"SELECT {key} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT 1 OFFSET ?"
        deleted = 0
        after = ""
        while True:
            found = await self._read(partial(_fetch, edge, (after, PURGE_CHUNK - 1)))
            if not found:
                sql = f"DELETE FROM {table} WHERE {key} > ? AND ({where})"
                return deleted + await self._writer.call(
                    partial(_count_deleted, sql, (after, *params))
                )
            last = found[0][0]
            sql = f"DELETE FROM {table} WHERE {key} > ? AND {key} <= ? AND ({where})"
            deleted += await self._writer.call(
                partial(_count_deleted, sql, (after, last, *params))
            )
            after = last

    # -- reads ------------------------------------------------------------------------------

    async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        if not self._open:
            raise StoreUnavailable("the SQLite store is closed: call `await store.open()` first.")
        return await asyncio.to_thread(self._run_read, query)

    def _run_read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        with self._readers_lock:
            if not self._open:  # closed while this read waited for a thread
                raise StoreUnavailable("the SQLite store is closed.")
            self._reading += 1
            conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
            if conn is None:
                # WAL lets one reader connection per thread run beside the writer.
                conn = connect(self.path)
                self._local.conn = conn
                self._readers.append(conn)
        try:
            return query(conn)
        except sqlite3.Error as exc:
            if (error := unavailable(exc, "read")) is not None:
                raise error from None
            raise
        finally:
            with self._readers_lock:
                self._reading -= 1
                self._readers_lock.notify_all()

    def _close_readers(self) -> None:
        # Closing a connection another thread is using crashes the process: wait for reads
        # that were already running (an abandoned purge walk, say) to end first.
        with self._readers_lock:
            self._readers_lock.wait_for(lambda: self._reading == 0)
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self._local = threading.local()


def _now_ms() -> int:
    return time_ns() // 1_000_000


def _gig_totals(
    gigs: Sequence[str],
    start: int,
    end: int,
    click_surfaces: frozenset[Surface],
    conn: sqlite3.Connection,
) -> dict[str, Metrics]:
    clicking = ",".join(f"'{s.value}'" for s in sorted(click_surfaces))
    clicks = f"SUM(CASE WHEN surface IN ({clicking}) THEN clicks ELSE 0 END)"
    columns = (
        f"gig, SUM(served), SUM(viewable), {clicks}, SUM(views), SUM(position_sum), "
        "SUM(position_count)"
    )
    sql = "WITH " + WANTED + ", " + hourly.span_rows([start, end], columns) + " GROUP BY gig"
    return {gig: Metrics(*counts) for gig, *counts in conn.execute(sql, (_json_list(gigs),))}


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(sorted(set(values)))


def _api_key(row: tuple[Any, ...]) -> ApiKey:
    key_id, secret_hash, name, sellers, can_write, created, revoked, expires, last_used = row
    return ApiKey(
        key_id, secret_hash, name, tuple(json.loads(sellers)), bool(can_write), created,
        revoked, expires, last_used,
    )


def _fetch(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def _execute(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> None:
    conn.execute(sql, params)


def _count_deleted(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> int:
    count: int = conn.execute(sql, params).rowcount
    return count


def _named(field: str, value: str) -> str:
    """How a rejected event's kept raw copy spells `"field": "value"`."""
    return raw_copy({field: value})[1:-1]
