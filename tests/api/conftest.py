"""Fixtures: a real app (collector + GraphQL API) on a fresh database of each store kind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.settings import Settings
from server.stores import open_store
from server.stores.base import Store

from .api_harness import ADMIN_KEY, Api, ApiFactory, Events, TestClient


@pytest.fixture
def make_api(database_url: str, wire_server: Any, tmp_path: Path) -> Iterator[ApiFactory]:
    """Start an app with settings overrides (and optionally a wrapped store); every app of a
    test after the first gets a database of its own."""
    stack: list[TestClient] = []

    def url(n: int) -> str:
        if n == 0:
            return database_url
        if database_url.startswith("sqlite:"):
            return f"sqlite:///{tmp_path}/t{n}.db"
        return database_url.replace("/gm_test_", f"/gm_test_{n}_", 1)

    def start(*, wrap: Callable[[Store], Any] | None = None, **overrides: Any) -> Api:
        settings = Settings(
            database_url=url(len(stack)),
            admin_key=ADMIN_KEY,
            demo=False,
            **overrides,
        )
        store: Any = open_store(settings.database_url)
        if wrap is not None:
            store = wrap(store)
        client = TestClient(create_app(settings, store))
        client.__enter__()
        stack.append(client)
        return Api(client, store)

    yield start
    for client in reversed(stack):
        client.__exit__(None, None, None)
    for n in range(1, len(stack)):
        if not database_url.startswith("sqlite:"):
            wire_server.admin.drop_database(url(n).rsplit("/", 1)[1].partition("?")[0])


@pytest.fixture
def api(make_api: ApiFactory) -> Api:
    return make_api()


@pytest.fixture
def events() -> Events:
    return Events()
