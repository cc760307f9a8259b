"""`open_store` picks the store a database URL names."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.errors import SettingsError
from server.stores import MongoStore, SQLiteStore, open_store

from .mongo_fake import fake_mongo_factory


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


async def test_mongo_client_factory_is_used() -> None:
    made: list[str] = []
    factory = fake_mongo_factory()

    def recording(url: str) -> object:
        made.append(url)
        return factory(url)

    store = open_store("mongodb://fake/shop", mongo_client_factory=recording)
    assert made == []  # not opened yet
    await store.open()
    assert await store.ping() is True
    await store.close()
    assert made == ["mongodb://fake/shop"]


@pytest.mark.parametrize(
    "url", ["postgres://x/y", "sqlite://relative.db", "sqlite:///", "sqlite:///:memory:"]
)
def test_unsupported_url_says_what_to_use(url: str) -> None:
    with pytest.raises(SettingsError, match=r"sqlite:///path/to/file\.db"):
        open_store(url)
