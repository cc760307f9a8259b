"""One `store` fixture over every store: SQLite and MongoDB on a real wire server.

The MongoDB leg runs on the session's wire server (`tests/conftest.py`: SecantusDB, or the
mongod named by GIGMETRICS_TEST_MONGODB_URL); each test gets its own database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from server.stores import MongoStore, SQLiteStore, Store

from ..conftest import STORE_KINDS


@pytest.fixture(params=[*STORE_KINDS, "sqlite-process"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Makes unopened stores that share one database (to test reopening and concurrency);
    `sqlite-process` is SQLite with the writer process `gigmetrics serve` uses."""
    if request.param == "sqlite":
        return lambda: SQLiteStore(tmp_path / "gigmetrics.db")
    if request.param == "sqlite-process":
        return lambda: SQLiteStore(tmp_path / "gigmetrics.db", writer="process")
    url: str = request.getfixturevalue("mongo_database_url")
    return lambda: MongoStore(url)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """An opened SQLite store, for the tests of what only SQLite does."""
    store = SQLiteStore(tmp_path / "gm.db")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def store(store_factory: Callable[[], Store]) -> AsyncIterator[Store]:
    """An opened store of each kind, closed after the test."""
    opened = store_factory()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
