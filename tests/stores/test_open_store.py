"""`open_store` picks the store a database URL names."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.errors import SettingsError, StoreUnavailable
from server.stores import MongoStore, SQLiteStore, open_store
from server.stores.mongo import default_client

from ..conftest import WireServer


def test_sqlite_url_with_relative_path_is_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///data/gm.db")
    assert isinstance(store, SQLiteStore)
    assert Path(store.path).resolve() == tmp_path / "data" / "gm.db"


def test_sqlite_url_with_absolute_path() -> None:
    store = open_store("sqlite:////var/lib/gigmetrics/gm.db")
    assert isinstance(store, SQLiteStore)
    assert store.path == "/var/lib/gigmetrics/gm.db"


@pytest.mark.parametrize(
    ("url", "database"),
    [
        ("mongodb://localhost:27017/shop", "shop"),
        ("mongodb://h1:1,h2:2/shop?replicaSet=rs&w=1", "shop"),
        ("mongodb://localhost", "gigmetrics"),
        ("mongodb+srv://user:pw@cluster.example.net/", "gigmetrics"),
        ("mongodb+srv://user:pw@cluster.example.net/metrics?retryWrites=true", "metrics"),
    ],
)
def test_mongodb_url_names_the_database(url: str, database: str) -> None:
    store = open_store(url)
    assert isinstance(store, MongoStore)
    assert store.database == database


async def test_mongo_client_factory_is_used(mongo_database_url: str) -> None:
    made: list[str] = []

    def recording(url: str) -> object:
        made.append(url)
        return default_client(url)

    store = open_store(mongo_database_url, mongo_client_factory=recording)
    assert made == []  # not opened yet
    await store.open()
    assert await store.ping() is True
    await store.close()
    assert await store.ping() is False
    assert made == [mongo_database_url]


async def test_unreachable_mongodb_fails_open_with_a_clear_error() -> None:
    store = open_store("mongodb://127.0.0.1:9/gm?serverSelectionTimeoutMS=300&timeoutMS=300")
    with pytest.raises(StoreUnavailable, match="did not answer while opening database 'gm'"):
        await store.open()


# PyMongo drops the socket of a timed-out operation without closing it; the warning is its own.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_stalled_server_times_out_instead_of_hanging(
    wire_server: WireServer, mongo_database_url: str
) -> None:
    """Every operation has a time limit (URL `timeoutMS`): a stall is a StoreUnavailable."""
    store = open_store(mongo_database_url + "&timeoutMS=400&appName=stalled")
    await store.open()
    wire_server.fail_point(
        {"times": 5}, failCommands=["find", "aggregate"], blockConnection=True,
        blockTimeMS=2_000, appName="stalled",
    )
    try:
        with pytest.raises(StoreUnavailable, match="could not read"):
            await store.surface_totals(["g-1"], 0, 10)
    finally:
        wire_server.fail_point("off")
        await store.close()


@pytest.mark.parametrize(
    "url", ["postgres://x/y", "sqlite://relative.db", "sqlite:///", "sqlite:///:memory:"]
)
def test_unsupported_url_says_what_to_use(url: str) -> None:
    with pytest.raises(SettingsError, match=r"sqlite:///path/to/file\.db"):
        open_store(url)
