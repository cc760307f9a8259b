"""The one SQLite writer thread: group commit of everything queued since its last commit.

Callers queue a job and await its future. The thread takes every queued job, runs all the
ingests in ONE transaction, commits, and only then settles their futures: nothing is
acknowledged before it is durable, and a failed transaction fails (and rolls back) every
job in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...errors import StoreUnavailable
from ...model import Event, Rejection
from ...observability import STORE_GROUP_SIZE
from ..base import IngestResult
from . import schema
from .connection import (
    MAX_JOBS_PER_COMMIT,
    WAL_CHECKPOINT_PAGES,
    WRITER_CACHE_MIB,
    connect,
    unavailable,
)
from .ingest import ingest_group

T = TypeVar("T")



@dataclass(slots=True)
class _Job:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    events: Sequence[Event] = ()
    rejections: Sequence[Rejection] = ()
    call: Callable[[sqlite3.Connection], Any] | None = None
    result: Any = field(default=None)


class Writer:
    """Owns the only writing connection, on its own thread."""

    def __init__(
        self,
        path: str,
        on_commit: Callable[[set[str]], None] | None = None,
        synchronous: str = "full",
    ) -> None:
        self.path = path
        self.synchronous = synchronous
        # Told the gigs of every committed group that stored new events (live updates).
        self.on_commit = on_commit
        self.running = False
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        """Open the connection, create missing tables, and start taking jobs."""
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="gigmetrics-sqlite-writer", daemon=True
        )
        self._thread.start()
        await ready
        self.running = True

    async def stop(self) -> None:
        """Finish every job queued so far, then stop; safe to call twice."""
        self.running = False
        if self._thread is not None:
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    async def ingest(
        self, events: Sequence[Event], rejections: Sequence[Rejection]
    ) -> IngestResult:
        """Store a batch in the next group commit; returns after that COMMIT."""
        result: IngestResult = await self._submit(events, rejections, None)
        return result

    async def call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(connection)` in a transaction of its own."""
        result: T = await self._submit((), (), work)
        return result

    async def _submit(
        self,
        events: Sequence[Event],
        rejections: Sequence[Rejection],
        call: Callable[[sqlite3.Connection], Any] | None,
    ) -> Any:
        if not self.running:
            raise StoreUnavailable("the SQLite store is closed: call `await store.open()` first.")
        loop = asyncio.get_running_loop()
        job = _Job(loop, loop.create_future(), events, rejections, call)
        self._jobs.put(job)
        return await job.future

    def _committed(self, jobs: list[_Job]) -> None:
        if self.on_commit is not None:
            self.on_commit(_changed_gigs(jobs))

    def _run(self, ready: asyncio.Future[None]) -> None:
        loop = ready.get_loop()
        try:
            # A big cache keeps the random-key B-tree pages of the hot tables in memory; fewer,
            # larger checkpoints (each one fsyncs) write a page changed by many commits once.
            conn = connect(self.path, cache_mib=WRITER_CACHE_MIB, synchronous=self.synchronous)
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            schema.create(conn)
        except Exception as exc:
            loop.call_soon_threadsafe(_settle, ready, None, exc)
            return
        loop.call_soon_threadsafe(_settle, ready, None, None)
        try:
            stopping = False
            while not stopping:
                job = self._jobs.get()
                if job is None:
                    break
                group = [job]
                while len(group) < MAX_JOBS_PER_COMMIT:
                    try:
                        more = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stopping = True
                        break
                    group.append(more)
                ingests = [j for j in group if j.call is None]
                if ingests:
                    # Told before any caller hears back, so a read that follows an
                    # acknowledged batch sees what it changed (kept ranking totals).
                    _transaction(conn, ingests, _ingest_jobs, self._committed)
                    STORE_GROUP_SIZE.observe(len(ingests))
                for j in group:
                    if j.call is not None:
                        _transaction(conn, [j], _call_job)
        finally:
            conn.close()


def _transaction(
    conn: sqlite3.Connection,
    jobs: list[_Job],
    work: Callable[[sqlite3.Connection, list[_Job]], None],
    committed: Callable[[list[_Job]], None] | None = None,
) -> bool:
    """Run `work` in one transaction; every job is settled only after COMMIT (or rollback),
    and after `committed` heard of it. True when it committed."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        work(conn, jobs)
        conn.execute("COMMIT")
    except Exception as exc:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection already dropped the transaction
        _resolve(jobs, unavailable(exc) or exc)
        return False
    if committed is not None:
        committed(jobs)
    _resolve(jobs, None)
    return True


def _changed_gigs(jobs: list[_Job]) -> set[str]:
    """Gigs of the batches that stored new events (a superset of the gigs they counted)."""
    return {e.gig for job in jobs if job.result.accepted for e in job.events}


def _ingest_jobs(conn: sqlite3.Connection, jobs: list[_Job]) -> None:
    results = ingest_group(conn, [(job.events, job.rejections) for job in jobs])
    for job, result in zip(jobs, results, strict=True):
        job.result = result


def _call_job(conn: sqlite3.Connection, jobs: list[_Job]) -> None:
    for job in jobs:
        assert job.call is not None
        job.result = job.call(conn)


# One caller's answer from the writer's side: (its loop, its future, the result, the error).
Answer = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Any, BaseException | None]


def _resolve(jobs: list[_Job], error: BaseException | None) -> None:
    answer_all([(job.loop, job.future, job.result, error) for job in jobs])


def answer_all(answers: list[Answer]) -> None:
    """Settle callers' futures from another thread: one wake-up per event loop for the
    whole group, not one per caller."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Answer]] = {}
    for answer in answers:
        by_loop.setdefault(answer[0], []).append(answer)
    for loop, settled in by_loop.items():
        # RuntimeError: the caller's event loop is gone, so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle_all, settled)


def _settle_all(settled: list[Answer]) -> None:
    for _, future, result, error in settled:
        _settle(future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
