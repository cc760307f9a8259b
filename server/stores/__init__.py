"""Stores: where events and rollups live. `open_store` picks one from a database URL.

The two stores are imported when first named (PEP 562 `__getattr__`): the SQLite writer
process imports `stores.sqlite.ingest`, and should not pay for PyMongo on its way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import SettingsError
from .base import ApiKey, DeletedData, IngestResult, Store, StoredRejection

if TYPE_CHECKING:
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


def open_store(
    url: str,
    *,
    mongo_client_factory: ClientFactory | None = None,
    sqlite_writer: str = "thread",
    sqlite_synchronous: str = "full",
    mongo_partition_groups: int = 1,
) -> Store:
    """The store a database URL names, not yet opened: callers `await store.open()`.

    `sqlite:///relative/path.db` is relative to the working directory and
    `sqlite:////absolute/path.db` absolute; `mongodb://host/dbname` and `mongodb+srv://...`
    use the database in the URL path (default `gigmetrics`). `sqlite_writer` and
    `sqlite_synchronous`: see `SQLiteStore`; `mongo_partition_groups`: see `MongoStore`.
    """
    if url.startswith(SQLITE_PREFIX):
        path = url[len(SQLITE_PREFIX) :]
        if not path or path == ":memory:":
            raise SettingsError(
                f"database URL {url!r} names no file: use sqlite:///path/to/file.db."
            )
        from .sqlite import SQLiteStore

        return SQLiteStore(path, writer=sqlite_writer, synchronous=sqlite_synchronous)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from .mongo import MongoStore

        return MongoStore(
            url, client_factory=mongo_client_factory, partition_groups=mongo_partition_groups
        )
    raise SettingsError(
        f"database URL {url!r} is not supported: use sqlite:///path/to/file.db "
        "or mongodb://host/dbname (or mongodb+srv://...)."
    )


def __getattr__(name: str) -> Any:
    if name == "SQLiteStore":
        from .sqlite import SQLiteStore

        return SQLiteStore
    if name in ("MongoStore", "ClientFactory"):
        from . import mongo

        return getattr(mongo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
