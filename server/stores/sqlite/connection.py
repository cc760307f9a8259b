"""How every SQLite connection of the store is opened, and what its errors mean. Light on
imports: the writer process (`writer_child.py`) starts with it."""

from __future__ import annotations

import sqlite3

from ...errors import StoreUnavailable

MAX_JOBS_PER_COMMIT = 500
WRITER_CACHE_MIB = 64
WAL_CHECKPOINT_PAGES = 8_000


# How durable a COMMIT is (`GIGMETRICS_SQLITE_SYNCHRONOUS`). WAL with FULL fsyncs the WAL at
# every commit, so an acknowledged batch survives a power cut or an OS crash; group commit
# makes that one fsync per group of beacons, not per event. NORMAL survives a crash or
# `kill -9` of the process (the transaction is in the WAL, handed to the OS, before COMMIT
# returns) but a power cut or an OS crash can lose the commits since the last checkpoint.
SYNCHRONOUS = ("full", "normal")


def connect(path: str, *, cache_mib: int = 16, synchronous: str = "full") -> sqlite3.Connection:
    """A connection in autocommit mode, WAL, and the given `synchronous` level."""
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}: {synchronous!r}")
    # The ingest keeps a few hundred statement texts (ingest.py: sizes x statements).
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, cached_statements=512
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
    return conn


def unavailable(error: BaseException, doing: str = "write") -> StoreUnavailable | None:
    """The `StoreUnavailable` a database-level SQLite error means, or None for other errors.

    Disk full, locked, read-only, I/O error, a corrupt file: the store, not the request, is
    at fault, and the caller may retry later. Constraint and programming errors are bugs.
    """
    if isinstance(error, sqlite3.OperationalError) or type(error) is sqlite3.DatabaseError:
        return StoreUnavailable(f"the SQLite store cannot {doing} ({error})")
    return None
