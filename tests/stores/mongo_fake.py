"""A mongomock-backed stand-in for `pymongo.AsyncMongoClient`, with its asyncio call shapes.

`await collection.aggregate(...)` returns a cursor with `await .to_list(None)`, as in PyMongo;
`bulk_write` replays PyMongo's operation objects one by one (mongomock's own bulk_write does
not accept PyMongo 4.20's operations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mongomock
from mongomock_motor import AsyncMongoMockClient
from pymongo import DeleteMany, DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne


class FakeBulkResult:
    """The little of pymongo's BulkWriteResult that callers read."""

    def __init__(self) -> None:
        self.matched_count = self.modified_count = self.upserted_count = 0
        self.deleted_count = self.inserted_count = 0


class FakeCollection:
    """`await coll.aggregate(...)` like PyMongo async; `bulk_write` without mongomock's."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def find(self, *args: Any, **kwargs: Any) -> Any:
        return self._collection.find(*args, **kwargs)

    async def aggregate(self, pipeline: list[dict[str, Any]], **kwargs: Any) -> Any:
        return self._collection.aggregate(pipeline, **kwargs)

    async def bulk_write(self, requests: list[Any], ordered: bool = True) -> FakeBulkResult:
        # mongomock's bulk_write does not accept PyMongo 4.20's operations; replay them.
        result = FakeBulkResult()
        for op in requests:
            if isinstance(op, UpdateOne | UpdateMany):
                call = self.update_one if isinstance(op, UpdateOne) else self.update_many
                done = await call(op._filter, op._doc, upsert=op._upsert)
                result.matched_count += done.matched_count
                result.upserted_count += done.upserted_id is not None
            elif isinstance(op, ReplaceOne):
                done = await self.replace_one(op._filter, op._doc, upsert=op._upsert)
                result.matched_count += done.matched_count
                result.upserted_count += done.upserted_id is not None
            elif isinstance(op, DeleteMany | DeleteOne):
                call = self.delete_many if isinstance(op, DeleteMany) else self.delete_one
                result.deleted_count += (await call(op._filter)).deleted_count
            elif isinstance(op, InsertOne):
                await self.insert_one(op._doc)
                result.inserted_count += 1
            else:
                raise NotImplementedError(f"FakeCollection.bulk_write: {type(op).__name__}")
        return result


class FakeDatabase:
    def __init__(self, database: Any) -> None:
        self._database = database

    def __getitem__(self, name: str) -> FakeCollection:
        return FakeCollection(self._database[name])

    def __getattr__(self, name: str) -> FakeCollection:
        return self[name]

    async def command(self, *args: Any, **kwargs: Any) -> Any:
        return await self._database.command(*args, **kwargs)


class FakeAsyncMongoClient:
    """Stands in for `pymongo.AsyncMongoClient`; clients built on one `server` share data."""

    def __init__(self, url: str, server: mongomock.MongoClient | None = None) -> None:
        self.url = url
        self._client = AsyncMongoMockClient(mock_mongo_client=server or mongomock.MongoClient())
        self.closed = False

    def __getitem__(self, name: str) -> FakeDatabase:
        return FakeDatabase(self._client[name])

    async def close(self) -> None:
        self.closed = True


def fake_mongo_factory(server: mongomock.MongoClient | None = None) -> Callable[[str], Any]:
    """A `client_factory` for `MongoStore`: every client it makes sees the same data."""
    server = server or mongomock.MongoClient()
    return lambda url: FakeAsyncMongoClient(url, server)
