"""The production store: MongoDB. `store.py` opens and reads, `ingest.py` writes each batch
in one transaction, `pipelines.py` holds the pure builders and the shard plan."""

from .store import INDEXES, ClientFactory, MongoStore, database_name, default_client, timeout_ms

__all__ = [
    "INDEXES",
    "ClientFactory",
    "MongoStore",
    "database_name",
    "default_client",
    "timeout_ms",
]
