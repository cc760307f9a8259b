"""Fixtures: a real app (collector + GraphQL API) on a fresh SQLite file per test."""

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
def make_api(tmp_path: Path) -> Iterator[ApiFactory]:
    """Start an app with settings overrides (and optionally a wrapped store)."""
    stack: list[TestClient] = []

    def start(*, wrap: Callable[[Store], Any] | None = None, **overrides: Any) -> Api:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path}/t{len(stack)}.db",
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


@pytest.fixture
def api(make_api: ApiFactory) -> Api:
    return make_api()


@pytest.fixture
def events() -> Events:
    return Events()
