"""One `store` fixture over every store: SQLite, mongomock (always) and a real MongoDB.

The real server runs only when GIGMETRICS_TEST_MONGODB_URL is set (e.g.
mongodb://localhost:27017); each test gets its own database, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from server.stores import MongoStore, SQLiteStore, Store

from .mongo_fake import fake_mongo_factory

MONGODB_URL = os.environ.get("GIGMETRICS_TEST_MONGODB_URL", "").strip()
STORES = ["sqlite", "mongomock", "mongodb"]


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(params=STORES)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Makes unopened stores that share one database (to test reopening and concurrency)."""
    kind = request.param
    if kind == "sqlite":
        return lambda: SQLiteStore(tmp_path / "gigmetrics.db")
    if kind == "mongomock":
        factory = fake_mongo_factory()
        return lambda: MongoStore("mongodb://fake/gigmetrics", client_factory=factory)
    if not MONGODB_URL:
        pytest.skip("set GIGMETRICS_TEST_MONGODB_URL=mongodb://host:port to test real MongoDB")
    name = f"gigmetrics_test_{uuid.uuid4().hex[:12]}"
    url = _with_database(MONGODB_URL, name)
    request.addfinalizer(lambda: _drop_database(url, name))
    return lambda: MongoStore(url)


@pytest.fixture
async def store(store_factory: Callable[[], Store]) -> AsyncIterator[Store]:
    """An opened store of each kind, closed after the test."""
    opened = store_factory()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def _with_database(url: str, name: str) -> str:
    scheme, rest = url.split("://", 1)
    hosts, _, tail = rest.partition("/")
    query = tail.partition("?")[2]
    return f"{scheme}://{hosts}/{name}" + (f"?{query}" if query else "")


def _drop_database(url: str, name: str) -> None:
    from pymongo import MongoClient

    with MongoClient(url, serverSelectionTimeoutMS=5_000) as client:
        client.drop_database(name)
