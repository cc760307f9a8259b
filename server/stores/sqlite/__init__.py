"""The embedded store: one SQLite file. `store.py` reads and opens, `writer.py` is the one
writer thread with group commit, `ingest.py` what a group writes."""

from .store import SQLiteStore

__all__ = ["SQLiteStore"]
