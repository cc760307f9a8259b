"""Stores: where events and rollups live. `open_store` picks one from a database URL."""

from __future__ import annotations

from ..errors import SettingsError
from .base import ApiKey, DeletedData, IngestResult, Store, StoredRejection
from .mongo import ClientFactory, MongoStore
from .sqlite import SQLiteStore

__all__ = [
    "ApiKey",
    "DeletedData",
    "IngestResult",
    "MongoStore",
    "SQLiteStore",
    "Store",
    "StoredRejection",
    "open_store",
]

SQLITE_PREFIX = "sqlite:///"


def open_store(url: str, *, mongo_client_factory: ClientFactory | None = None) -> Store:
    """The store a database URL names, not yet opened: callers `await store.open()`.

    `sqlite:///relative/path.db` is relative to the working directory and
    `sqlite:////absolute/path.db` absolute; `mongodb://host/dbname` and `mongodb+srv://...`
    use the database in the URL path (default `gigmetrics`).
    """
    if url.startswith(SQLITE_PREFIX):
        path = url[len(SQLITE_PREFIX) :]
        if not path or path == ":memory:":
            raise SettingsError(
                f"database URL {url!r} names no file: use sqlite:///path/to/file.db."
            )
        return SQLiteStore(path)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        return MongoStore(url, client_factory=mongo_client_factory)
    raise SettingsError(
        f"database URL {url!r} is not supported: use sqlite:///path/to/file.db "
        "or mongodb://host/dbname (or mongodb+srv://...)."
    )
