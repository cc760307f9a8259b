"""The SQLite writer in a process of its own, for `gigmetrics serve` (GIGMETRICS_SQLITE_WRITER).

The group commit is the same as `writer.Writer`'s: the child takes every batch queued since
its last commit, runs `ingest_group` over all of them in ONE transaction, commits, and only
then answers; the parent settles each batch's future from that answer. What changes is where
the counting runs. In a thread it shares Python's GIL with the event loop, so validating
requests and counting events take turns on one core (and hand the GIL back and forth on
every statement); in a process of its own it runs beside the event loop, on the other core.

Messages are JSON (orjson) frames over the child's stdin and stdout: a batch is
`[job, events, rejections]` with events as arrays in `Event`'s field order; an answer is
`["ok", [[job, accepted, duplicates, invalid], ...], [changed gigs]]` or
`["error", [job, ...], unavailable, message]`. A sender thread
writes to the pipe (a full pipe never blocks the event loop) and a receiver thread reads it;
in the child, a reader thread gathers what arrives while a group is being written.

Exactly once, as before: nothing is acknowledged before its COMMIT. A child that dies (or is
killed) fails its unanswered batches with `StoreUnavailable` ("retry later"), and the next
batch starts a new child; a parent that dies closes the pipe, and the child finishes the group
it is writing and exits.

Other writes (`Writer.call`: keys, purges, deletions, the write probe) stay on a writer
thread in the parent, a second connection to the same file; SQLite serializes the two
writers (BEGIN IMMEDIATE with a busy timeout), and those writes are rare.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import queue
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson

from ...errors import StoreUnavailable
from ...model import Event, Rejection
from ...observability import STORE_GROUP_SIZE
from ..base import IngestResult
from .writer import Answer, Writer, answer_all
from .writer_child import read_frame, write_frame

T = TypeVar("T")
log = logging.getLogger("gigmetrics.sqlite")

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60


class ProcessWriter:
    """`Writer`'s interface, with ingests written by a child process."""

    def __init__(
        self,
        path: str,
        on_commit: Callable[[set[str]], None] | None = None,
        synchronous: str = "full",
    ) -> None:
        self.path = path
        self.synchronous = synchronous
        self.on_commit = on_commit
        self.running = False
        self._calls = Writer(path, synchronous=synchronous)
        self._jobs = itertools.count()
        # Batches sent and not answered yet: job -> (its loop, its future, the child it went to)
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], _Child]] = {}
        self._lock = threading.Lock()  # guards _waiting and _child
        self._child: _Child | None = None
        self._starting = threading.Lock()  # held while a child starts: one at a time

    async def start(self) -> None:
        """Start the child (it creates or migrates the tables), then the writer thread."""
        await self._live_child()
        await self._calls.start()
        self.running = True

    async def stop(self) -> None:
        """Finish every batch sent so far, then stop; safe to call twice."""
        self.running = False
        child, self._child = self._child, None
        if child is not None:
            await asyncio.to_thread(child.stop)
        await self._calls.stop()

    async def call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(connection)` in a transaction of its own (on the parent's writer thread)."""
        return await self._calls.call(work)

    async def ingest(
        self, events: Sequence[Event], rejections: Sequence[Rejection]
    ) -> IngestResult:
        """Store a batch in the child's next group commit; returns after that COMMIT."""
        if not self.running:
            raise StoreUnavailable("the SQLite store is closed: call `await store.open()` first.")
        child = self._child
        if child is None or child.lost:  # (`_lost` clears it, at its pipe's end)
            child = await self._live_child()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        job = next(self._jobs)
        with self._lock:
            if child.lost:  # it died since: `_lost` has failed its batches already
                raise StoreUnavailable("the SQLite writer process stopped")
            self._waiting[job] = (loop, future, child)
        child.send(orjson.dumps([
            job,
            [tuple(e) for e in events],
            [(r.index, r.reason, r.raw, r.received) for r in rejections],
        ]))
        return await future

    async def _live_child(self) -> _Child:
        """The running child, started if there is none: one at a time, whatever the number of
        batches that found it gone (each starting its own left one child per request in
        flight, alive until the server stopped)."""
        return await asyncio.to_thread(self._ensure_child)

    def _ensure_child(self) -> _Child:
        with self._starting:
            child = self._child
            if child is not None and not child.lost:
                return child  # another batch started it while this one waited
            child = _Child(self.path, self.synchronous, self._answered, self._lost)
            with self._lock:
                self._child = child
            return child

    def _answered(self, answer: list[Any]) -> None:
        """An answer from the child (receiver thread): settle its batches."""
        settled: list[Answer] = []
        if answer[0] == "ok":
            _, results, changed = answer
            with self._lock:
                for job, accepted, duplicates, invalid in results:
                    loop, future, _ = self._waiting.pop(job)
                    result = IngestResult(accepted, duplicates, invalid)
                    settled.append((loop, future, result, None))
            STORE_GROUP_SIZE.observe(len(results))
            if self.on_commit is not None and changed:
                self.on_commit(set(changed))
        else:
            _, jobs, is_unavailable, message = answer
            error = StoreUnavailable(message) if is_unavailable else RuntimeError(message)
            with self._lock:
                for job in jobs:
                    loop, future, _ = self._waiting.pop(job)
                    settled.append((loop, future, None, error))
        answer_all(settled)

    def _lost(self, child: _Child) -> None:
        """The child's pipe closed: fail every batch it had not answered."""
        error = StoreUnavailable("the SQLite writer process stopped")
        with self._lock:
            child.lost = True
            if self._child is child:
                self._child = None
            lost = [job for job, (_, _, sent_to) in self._waiting.items() if sent_to is child]
            waiting = [self._waiting.pop(job) for job in lost]
        answer_all([(loop, future, None, error) for loop, future, _ in waiting])


class _Child:
    """One writer process (`python -m server.stores.sqlite.writer_child PATH`), its pipes
    (stdin: batches, stdout: answers, length-prefixed frames), and the parent's sender and
    receiver threads."""

    def __init__(
        self,
        path: str,
        synchronous: str,
        on_answer: Callable[[list[Any]], None],
        on_lost: Callable[[_Child], None],
    ) -> None:
        package_root = str(Path(__file__).resolve().parents[3])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]
        )}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.stores.sqlite.writer_child", path, synchronous],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
            start_new_session=False,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in, self._out = self.process.stdin, self.process.stdout
        try:
            ready = read_frame(self._out)
        except EOFError:
            ready = ["failed", "the writer process exited as it started (see the log above)"]
        if ready[0] != "ready":
            self.process.kill()
            self.process.wait()
            raise sqlite3.OperationalError(ready[1])
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.lost = False  # set (under ProcessWriter's lock) once its pipe has closed
        self._on_answer = on_answer
        self._on_lost = on_lost
        self._sender = threading.Thread(target=self._send_loop, daemon=True,
                                        name="gigmetrics-sqlite-sender")
        self._receiver = threading.Thread(target=self._receive_loop, daemon=True,
                                          name="gigmetrics-sqlite-receiver")
        self._sender.start()
        self._receiver.start()

    def send(self, message: bytes) -> None:
        self._outbox.put(message)

    def stop(self) -> None:
        """Ask the child to finish what it was sent and exit; wait for it (blocking)."""
        self._outbox.put(None)
        self._sender.join(STOP_TIMEOUT_S)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._receiver.join(STOP_TIMEOUT_S)
        self._out.close()

    def _send_loop(self) -> None:
        try:
            while (message := self._outbox.get()) is not None:
                write_frame(self._in, message)
        except OSError:
            pass  # the child is gone: the receiver fails what it had not answered
        with contextlib.suppress(OSError):
            self._in.close()  # end of input: the child finishes and exits

    def _receive_loop(self) -> None:
        try:
            while True:
                self._on_answer(read_frame(self._out))
        except (EOFError, OSError, ValueError):
            pass
        self._on_lost(self)
        self._outbox.put(None)  # ends the sender, which closes the child's input
        self._sender.join(STOP_TIMEOUT_S)
        self._out.close()
        self.process.wait()  # reaped: no zombie
