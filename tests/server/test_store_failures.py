"""A store that cannot write: 503 with "retry later", STORE_UNAVAILABLE, /readyz false until
writes work again, and never a traceback. Disk full is real: SQLite's own page limit."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.errors import StoreUnavailable
from server.health import StoreHealth
from server.settings import Settings
from server.stores.sqlite import SQLiteStore

ADMIN = "test-admin"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
RECORD = "mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/f.db", admin_key=ADMIN, demo=False)
    with TestClient(create_app(settings), headers={"user-agent": UA}) as c:
        yield c


def events(prefix: str, n: int = 50) -> list[dict[str, object]]:
    now = int(time.time() * 1000) - 1000
    return [{"id": f"{prefix}-{i:06d}", "type": "served", "gig": f"g-{prefix}-{i}",
             "imp": f"i{i}", "surface": "search", "context": "x" * 100, "ts": now}
            for i in range(n)]


def fill_disk(client: TestClient, full: bool) -> None:
    """Cap the file at its current size (as a full disk would), or lift the cap."""
    store: SQLiteStore = client.app.state.store  # type: ignore[attr-defined]

    def cap(conn: sqlite3.Connection) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages if full else 1_000_000_000}")

    client.portal.call(store._writer.call, cap)  # type: ignore[union-attr,arg-type]


def collect(client: TestClient, prefix: str) -> object:
    return client.post("/collect", content=json.dumps({"events": events(prefix)}),
                       headers={"content-type": "text/plain"})


def test_disk_full_is_503_retry_later_and_readyz_false_until_writes_work(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert collect(client, "warm").status_code == 200  # type: ignore[attr-defined]
    fill_disk(client, full=True)
    with caplog.at_level(logging.INFO):
        refused = collect(client, "full")
        assert refused.status_code == 503  # type: ignore[attr-defined]
        assert "retry later" in refused.json()["error"]  # type: ignore[attr-defined]
        assert "disk is full" in refused.json()["error"]  # type: ignore[attr-defined]
        assert refused.headers["retry-after"]  # type: ignore[attr-defined]
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "cannot write" in ready.json()["error"]
        assert client.get("/healthz").status_code == 200

        response = client.post("/graphql", json={"query": RECORD, "variables": {
            "e": events("gql")}}, headers={"authorization": f"Bearer {ADMIN}"})
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "STORE_UNAVAILABLE"
        assert "retry later" in error["message"]

        fill_disk(client, full=False)
        assert client.get("/readyz").status_code == 200  # the probe write worked
        assert collect(client, "full").json()["accepted"] == 50  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if r.exc_info]  # no tracebacks
    assert len([r for r in caplog.records if "cannot write" in r.getMessage()]) == 1


def test_a_failing_read_is_store_unavailable_not_an_internal_error(client: TestClient) -> None:
    store: SQLiteStore = client.app.state.store  # type: ignore[attr-defined]

    def broken(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    async def read(*args: object) -> object:
        return await store._read(broken)

    store.surface_totals = read  # type: ignore[method-assign,assignment]
    response = client.post("/graphql", json={"query": '{ gigMetrics(gigId: "g") { clicks } }'},
                           headers={"authorization": f"Bearer {ADMIN}"})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "STORE_UNAVAILABLE"
    assert "cannot read (disk I/O error): retry later" in error["message"]


class _Failing:
    """A store whose probe write fails while `full` (nothing else is called)."""

    def __init__(self) -> None:
        self.full = True

    async def probe_write(self) -> None:
        if self.full:
            raise StoreUnavailable("the disk is full")

    async def ping(self) -> bool:
        return True


async def test_a_small_write_that_works_does_not_make_a_store_ready_that_failed_a_larger_one(
) -> None:
    store = _Failing()
    health = StoreHealth(store)  # type: ignore[arg-type]
    health.write_failed(StoreUnavailable("the disk is full"), 50)
    health.write_worked(1)  # a one-event beacon still fits
    assert health.write_error is not None
    assert "cannot write" in (await health.unready_reason() or "")  # the probe still fails
    health.write_worked(50)
    assert health.write_error is None
    health.write_failed(StoreUnavailable("the disk is full"), 50)
    store.full = False
    assert await health.unready_reason() is None  # the probe is larger than any batch
