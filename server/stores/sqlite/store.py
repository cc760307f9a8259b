"""The embedded store: one SQLite file; writes go through one writer thread with group
commit (`writer.py`), reads use a connection per thread beside it (WAL). This class opens the
file and hands each call to its module: `reads.py`, `keys.py`, `maintenance.py`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any, TypeVar

from ...counting.metrics import ContextRow, Metrics, RollupRow
from ...counting.ownership import Conflict
from ...counting.splits import SplitRow
from ...errors import StoreUnavailable
from ...model import Event, Rejection, Surface, now_ms
from ..base import ApiKey, DeletedData, IngestResult, InvalidRow, StoredRejection
from ..changes import ChangeNotifier
from ..window_totals import WindowTotals
from . import keys as stored_keys
from . import maintenance, reads
from .connection import connect, unavailable
from .writer import Writer
from .writer_process import ProcessWriter

T = TypeVar("T")

WRITERS: dict[str, type[Writer] | type[ProcessWriter]] = {
    "thread": Writer, "process": ProcessWriter,
}

# Headroom for a few full batches: a disk that can take less is not ready.
PROBE_BYTES = 1024 * 1024


class SQLiteStore:
    """gigmetrics in one SQLite file (the default store)."""

    def __init__(
        self, path: str | os.PathLike[str], *, writer: str = "thread", synchronous: str = "full"
    ) -> None:
        """`writer`: "thread" (beside the event loop, sharing its GIL) or "process" (ingests
        counted and written by a child process: `writer_process.py`, for `serve`);
        `synchronous`: "full" (an acknowledged batch is fsynced) or "normal" (see
        `connection.SYNCHRONOUS`)."""
        self.path = os.fspath(path)
        self._notifier = ChangeNotifier()
        if writer not in WRITERS:
            raise ValueError(f"writer must be one of {', '.join(WRITERS)}, not {writer!r}")
        self._writer: Writer | ProcessWriter = WRITERS[writer](
            self.path, on_commit=self._committed, synchronous=synchronous
        )
        self._totals = WindowTotals(now_ms())
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._reading = 0  # reads running now; a connection is closed only when none is
        self._readers_lock = threading.Condition()
        self._open = False

    def _committed(self, gigs: set[str]) -> None:
        """After a group commit (writer thread): kept totals of these gigs are stale, and
        live updates hear of them."""
        self._totals.changed(gigs, now_ms())
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
        """Rows summed per (gig, span, surface) in SQL (`reads.span_totals`)."""
        if len(edges) < 2 or not gigs:
            return []
        return await self._read(partial(reads.span_totals, gigs, edges))

    async def gig_totals(
        self, gigs: Sequence[str] | None, start: int, end: int,
        click_surfaces: frozenset[Surface],
    ) -> dict[str, Metrics]:
        """Each gig's totals over the window with only click surfaces' clicks (None: every
        gig): kept totals of gigs unchanged since they were read (`WindowTotals`), the others
        summed in SQL (one row per gig crosses into Python); gigs without rows are left out."""
        if gigs is None:  # one JSON parameter on SQLite: a list of every gig costs no command
            gigs = await self.gigs_of_sellers(None)
        if not gigs:
            return {}
        found, stale, stamp = self._totals.lookup(gigs, start, end, click_surfaces)
        if stale:
            fresh = await self._read(
                partial(reads.gig_totals, stale, start, end, click_surfaces)
            )
            self._totals.keep(stamp, start, end, click_surfaces, fresh)
            found.update(fresh)
        return {gig: m for gig, m in found.items() if m.served or m.viewable or m.views
                or m.clicks or m.position_count or m.orders}

    async def split_totals(self, gigs: Sequence[str], edges: Sequence[int]) -> list[SplitRow]:
        """Split rollups summed per (gig, span, kind, key)."""
        return await self._read(partial(reads.split_totals, gigs, edges))

    async def context_totals(
        self, gigs: Sequence[str], start: int, end: int
    ) -> list[ContextRow]:
        """Context rollups summed per (gig, surface, context) in SQL."""
        return await self._read(partial(reads.context_totals, gigs, start, end))

    async def sellers(self) -> list[str]:
        """Every seller some gig belongs to, sorted."""
        return await self._read(reads.sellers)

    async def gigs_of_sellers(self, sellers: Sequence[str] | None) -> list[str]:
        """Gig ids seen with one of these sellers (every gig for None), sorted."""
        return await self._read(partial(reads.gigs_of_sellers, sellers))

    async def seller_of(self, gigs: Sequence[str]) -> dict[str, str]:
        """The seller last seen for each of these gigs that has one."""
        return await self._read(partial(reads.seller_of, gigs))

    async def rejections(self, limit: int) -> list[StoredRejection]:
        """The newest rejected events, newest first."""
        return await self._read(partial(reads.rejections, limit))

    def counters(self) -> Any:
        """A `limits` storage for over-rate traffic: in memory (one process per file)."""
        from limits.aio.storage import MemoryStorage

        return MemoryStorage()

    async def invalid_totals(self, gigs: Sequence[str], start: int, end: int) -> list[InvalidRow]:
        """Invalid-traffic rows summed per (gig, reason), through the primary key."""
        return await self._read(partial(reads.invalid_totals, gigs, start, end))

    async def set_owner(self, gig: str, seller: str, when: int) -> None:
        """Make `seller` the owner of `gig`, whatever it was."""
        sql = (
            "INSERT INTO gigs VALUES (?,?,?) ON CONFLICT(gig) DO UPDATE SET "
            "seller=excluded.seller, seller_ts=excluded.seller_ts"
        )
        await self._writer.call(partial(_execute, sql, (gig, seller, when)))

    async def gig_claims(self, limit: int) -> list[Conflict]:
        """Sellers named for gigs another seller owns, most recent first."""
        return await self._read(partial(reads.gig_claims, limit))

    async def purge(self, raw_before: int, buckets_before: int) -> None:
        """Drop raw data of whole buckets before `raw_before`, rollups before `buckets_before`."""
        await maintenance.purge(self._read, self._writer.call, raw_before, buckets_before)
        self._totals.forget()

    async def save_key(self, key: ApiKey) -> None:
        """Store a new API key (its id and secret hash must be new)."""
        await self._writer.call(partial(stored_keys.save_key, key))

    async def keys(self) -> list[ApiKey]:
        """All API keys, revoked ones too, oldest first."""
        return await self._read(stored_keys.keys)

    async def key_by_hash(self, secret_hash: str) -> ApiKey | None:
        """The key whose secret hashes to `secret_hash`, revoked or not."""
        return await self._read(partial(stored_keys.key_by_hash, secret_hash))

    async def revoke_key(self, key_id: str, when: int) -> bool:
        """Mark a key revoked (the first revocation time stays); False when there is none."""
        return await self._writer.call(partial(stored_keys.revoke_key, key_id, when))

    async def touch_key(self, key_id: str, when: int) -> None:
        """Record a use of the key; `last_used` only moves forward."""
        await self._writer.call(partial(stored_keys.touch_key, key_id, when))

    def changes(self) -> AbstractAsyncContextManager[AsyncIterator[frozenset[str]]]:
        """Gigs changed by this process's commits (SQLite has one writing process)."""
        return self._notifier.listen()

    async def delete_data(self, gigs: Sequence[str], seller: str | None = None) -> DeletedData:
        """Delete everything of these gigs (and raw events and rejections naming `seller`);
        ingests go on meanwhile (`maintenance.delete_data`)."""
        deleted = await maintenance.delete_data(self._read, self._writer.call, gigs, seller)
        self._committed(set(gigs))
        return deleted

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


def _execute(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> None:
    conn.execute(sql, params)
