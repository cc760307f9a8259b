"""The embedded store: one SQLite file. `store.py` opens it and hands each call on:
`schema.py` the tables and their migrations, `reads.py` the read queries, `keys.py` API keys,
`maintenance.py` purge and deletion; `writer.py` is the one writer thread with group commit
(`writer_process.py`: in a process of its own, for `serve`), `ingest.py` what a group writes.
`SQLiteStore` is imported when first named, so the writer process (`writer_child.py`) starts
without the read side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import SQLiteStore

__all__ = ["SQLiteStore"]


def __getattr__(name: str) -> Any:
    if name == "SQLiteStore":
        from .store import SQLiteStore

        return SQLiteStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
