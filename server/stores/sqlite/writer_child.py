"""The SQLite writer process: `python -m server.stores.sqlite.writer_child PATH`.

Started and fed by `writer_process.ProcessWriter` (which explains the protocol). It reads
batches from stdin (a reader thread gathers what arrives while a group is being written),
commits each group in one transaction with `ingest_group`, and answers on stdout; when its
input ends (the parent stopped, or died) it finishes the group it has and exits. It imports
only what counting needs, so it starts quickly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import sys
import threading
from typing import IO, Any

import orjson

from ...model import SURFACES, TYPES, Device, Event, Rejection
from . import schema
from .connection import (
    MAX_JOBS_PER_COMMIT,
    WAL_CHECKPOINT_PAGES,
    WRITER_CACHE_MIB,
    connect,
    unavailable,
)
from .ingest import ingest_group

log = logging.getLogger("gigmetrics.sqlite")


def write_frame(pipe: IO[bytes], payload: bytes) -> None:
    """One message: its length (4 bytes, big-endian), then its JSON."""
    pipe.write(len(payload).to_bytes(4, "big") + payload)
    pipe.flush()


def read_frame(pipe: IO[bytes]) -> Any:
    """The next message, decoded; EOFError when the pipe has ended."""
    head = pipe.read(4)
    if len(head) < 4:
        raise EOFError
    body = pipe.read(int.from_bytes(head, "big"))
    return orjson.loads(body)


def child_main(path: str, synchronous: str = "full") -> None:
    """The writer process: open, then group-commit batches until its input ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops us
    batches, answers = sys.stdin.buffer, sys.stdout.buffer
    try:
        conn = connect(path, cache_mib=WRITER_CACHE_MIB, synchronous=synchronous)
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        schema.create(conn)
    except Exception as exc:  # told to the parent, which refuses to open the store
        write_frame(answers, orjson.dumps(["failed", str(exc)]))
        return
    write_frame(answers, orjson.dumps(["ready", os.getpid()]))
    pending: list[Any] = []
    reader = threading.Thread(target=_read_batches, args=(batches, pending), daemon=True)
    reader.start()
    try:
        while True:
            group = _next_group(pending)
            if group is None:
                break
            write_frame(answers, orjson.dumps(_commit(conn, group)))
    except OSError:
        pass  # the parent is gone: nobody waits for an answer
    finally:
        conn.close()


_arrived = threading.Condition()


def _read_batches(pipe: IO[bytes], pending: list[Any]) -> None:
    """The child's reader thread: batches into `pending` as they arrive; None at the end."""
    while True:
        try:
            batch = read_frame(pipe)
        except (EOFError, OSError, ValueError):
            batch = None
        with _arrived:
            pending.append(batch)
            _arrived.notify()
        if batch is None:
            return


def _next_group(pending: list[Any]) -> list[Any] | None:
    """Every batch that arrived since the last commit (waits for one); None: input ended."""
    with _arrived:
        _arrived.wait_for(lambda: bool(pending))
        take = min(len(pending), MAX_JOBS_PER_COMMIT)
        group = pending[:take]
        del pending[:take]
    if group[-1] is None:
        group.pop()
        if group:  # commit what came before the end first
            with _arrived:
                pending.insert(0, None)
            return group
        return None
    return group


def _commit(conn: sqlite3.Connection, group: list[Any]) -> list[Any]:
    jobs = [job for job, _, _ in group]
    batches = [
        ([_event(row) for row in events], [Rejection(*row) for row in rejections])
        for _, events, rejections in group
    ]
    try:
        conn.execute("BEGIN IMMEDIATE")
        results = ingest_group(conn, batches)
        conn.execute("COMMIT")
    except Exception as exc:
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        error = unavailable(exc)
        if error is None:
            log.exception("the SQLite writer process failed a group")
        return ["error", jobs, error is not None, str(error or exc)]
    changed = {e.gig for (events, _), r in zip(batches, results, strict=True) if r.accepted
               for e in events}
    return [
        "ok",
        [[job, r.accepted, r.duplicates, r.invalid] for job, r in zip(jobs, results, strict=True)],
        sorted(changed),
    ]


def _event(row: list[Any]) -> Event:
    """An `Event` from its array (field order; the enums as their wire values)."""
    row[1] = TYPES[row[1]]
    if row[7] is not None:
        row[7] = SURFACES[row[7]]
    if row[_DEVICE] is not None:
        row[_DEVICE] = Device(row[_DEVICE])
    return Event(*row)


_DEVICE = Event._fields.index("device")


if __name__ == "__main__":
    child_main(*sys.argv[1:3])
