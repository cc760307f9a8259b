"""How every SQLite connection of the store is opened, and what its errors mean. Light on
imports: the writer process (`writer_child.py`) starts with it."""

from __future__ import annotations

import sqlite3

from ...errors import StoreUnavailable

MAX_JOBS_PER_COMMIT = 500
WRITER_CACHE_MIB = 64
WAL_CHECKPOINT_PAGES = 8_000


def connect(path: str, *, cache_mib: int = 16) -> sqlite3.Connection:
    """A connection in autocommit mode, WAL, and `synchronous=NORMAL`.

    WAL with NORMAL survives a crash or `kill -9` of the process: a transaction is in the
    WAL (handed to the OS) before COMMIT returns. Only a power cut or an OS crash could
    lose the last commits.
    """
    # The ingest keeps a few hundred statement texts (ingest.py: sizes x statements).
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, cached_statements=512
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
    return conn


def unavailable(error: BaseException, doing: str = "write") -> StoreUnavailable | None:
    """The `StoreUnavailable` a database-level SQLite error means, or None for other errors.

    Disk full, locked, read-only, I/O error, a corrupt file: the store, not the request, is
    at fault, and the caller may retry later. Constraint and programming errors are bugs.
    """
    if isinstance(error, sqlite3.OperationalError) or type(error) is sqlite3.DatabaseError:
        return StoreUnavailable(f"the SQLite store cannot {doing} ({error}): retry later")
    return None
