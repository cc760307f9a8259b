"""Helpers for the API tests: event builders, a counting store, an HTTP client for the app."""

from __future__ import annotations

import inspect
import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

from server.keys import new_key
from server.stores.base import Store

ADMIN_KEY = "test-admin"
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

GIG_METRICS = """
query($gig: ID!, $range: DateRangeInput, $tz: String) {
  gigMetrics(gigId: $gig, range: $range, timeZone: $tz) {
    gigId ...M
    window { start end timeZone days }
    daily { date ...M }
    bySurface { surface ...M }
  }
}
fragment M on Metrics {
  servedImpressions viewableImpressions clicks views ctr viewableCtr viewabilityRate
  averagePosition
}
"""
RECORD = """
mutation($events: [EventInput!]!, $sentAt: Float) {
  recordEvents(events: $events, sentAt: $sentAt) { accepted duplicates rejected { index reason } }
}
"""


def now_ms() -> int:
    return int(time.time() * 1000)


def local_ms(day: date, hour: int, minute: int, tz: str) -> int:
    """Epoch ms of a local wall-clock time."""
    aware = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz))
    return int(aware.timestamp() * 1000)


def local_today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


class Events:
    """Builds wire events with unique ids (one object is valid for /collect and recordEvents)."""

    def __init__(self, prefix: str = "evt") -> None:
        self.prefix = prefix
        self.count = 0

    def _id(self) -> str:
        self.count += 1
        return f"{self.prefix}-{self.count:06d}"

    def served(self, gig: str, imp: str, ts: int, *, surface: str = "search",
               position: int | None = None, seller: str | None = None) -> dict[str, Any]:
        event: dict[str, Any] = {"id": self._id(), "type": "served", "gig": gig, "imp": imp,
                                 "surface": surface, "ts": ts}
        if position is not None:
            event["position"] = position
        if seller is not None:
            event["seller"] = seller
        return event

    def viewable(self, gig: str, imp: str, ts: int) -> dict[str, Any]:
        return {"id": self._id(), "type": "viewable", "gig": gig, "imp": imp, "ts": ts}

    def click(self, gig: str, imp: str, ts: int, *, surface: str = "search") -> dict[str, Any]:
        return {"id": self._id(), "type": "click", "gig": gig, "imp": imp, "surface": surface,
                "ts": ts}

    def view(self, gig: str, pv: str, ts: int) -> dict[str, Any]:
        return {"id": self._id(), "type": "view", "gig": gig, "pv": pv, "ts": ts}


class CountingStore:
    """Wraps a store and counts the calls of each method (to prove reads are batched)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.args: dict[str, list[tuple[Any, ...]]] = {}

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(target):
            # Only the async methods read or write; a plain one (e.g. `counters()`, which hands
            # out the rate-limit storage) must keep its type, or the app gets a coroutine.
            return target

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            self.args.setdefault(name, []).append(args)
            return await target(*args, **kwargs)

        return counted


class Api:
    """A running app and helpers to talk to it as a client would."""

    def __init__(self, client: TestClient, store: Any) -> None:
        self.client = client
        self.store = store

    def post(self, query: str, key: str | None = ADMIN_KEY, **variables: Any) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {key}"} if key is not None else {}
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def data(self, query: str, key: str | None = ADMIN_KEY, **variables: Any) -> dict[str, Any]:
        body = self.post(query, key, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def error(self, query: str, key: str | None = ADMIN_KEY, **variables: Any) -> dict[str, Any]:
        """The first error of a query that must fail."""
        body = self.post(query, key, **variables)
        assert body.get("errors"), body
        error: dict[str, Any] = body["errors"][0]
        return error

    def collect(self, events: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        response = self.client.post(
            "/collect",
            content=json.dumps({"events": events, **extra}),
            headers={"content-type": "text/plain"},
        )
        assert response.status_code == 200, response.text
        receipt: dict[str, Any] = response.json()
        return receipt

    def record(self, events: list[dict[str, Any]], key: str = ADMIN_KEY,
               sent_at: float | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.data(RECORD, key, events=events, sentAt=sent_at)
        return dict(result["recordEvents"])

    def gig(self, gig: str, key: str = ADMIN_KEY, **variables: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.data(GIG_METRICS, key, gig=gig, **variables)
        return dict(result["gigMetrics"])

    def make_key(self, *sellers: str, write: bool = False) -> tuple[str, str]:
        """A partner key for `sellers`: (key id, secret)."""
        record, secret = new_key("partner", tuple(sellers), can_write=write, now=now_ms())
        self.client.portal.call(self.store.save_key, record)  # type: ignore[union-attr]
        return record.key_id, secret

    def revoke(self, key_id: str) -> None:
        self.client.portal.call(self.store.revoke_key, key_id, now_ms())  # type: ignore[union-attr]


ApiFactory = Callable[..., Api]


def days_back(n: int, tz: str = "UTC") -> date:
    return local_today(tz) - timedelta(days=n)
