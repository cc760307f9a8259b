"""Over-rate traffic: too many events from one IP address or one page view per minute, or
more tiles in one page view than any real listing holds. Such events are stored as invalid
traffic (`over_rate`, `too_many_tiles`), never counted.

Counting uses the `limits` library's storages: its in-memory storage in one process (the
SQLite store runs in one), and `MongoCounters`, a `limits` storage on the MongoDB store's
`rate_counters` collection, shared by every server process. A fixed window per key: the
window's start is part of the key, so a counter is one `$inc`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from limits.aio.storage import MemoryStorage, Storage

from . import invalid
from .events import Event, EventType

RATE_WINDOW_S = 60
TILES_WINDOW_S = 30 * 60


@dataclass(frozen=True, slots=True)
class TrafficLimits:
    """The rates past which anonymous beacons are invalid traffic."""

    events_per_ip_minute: int = 1200
    events_per_page_view_minute: int = 600
    tiles_per_page_view: int = 1000


class TrafficScreen:
    """Marks the events of a beacon that go past a rate (anonymous beacons only)."""

    def __init__(
        self, storage: Callable[[], Storage] = MemoryStorage, limits: TrafficLimits | None = None
    ) -> None:
        # Made at the first beacon: a store's shared storage exists once the store is open.
        self._make_storage = storage
        self._storage: Storage | None = None
        self.limits = limits or TrafficLimits()

    async def screen(self, events: Sequence[Event], ip: str) -> tuple[Event, ...]:
        """The events, those past a limit marked invalid (the earliest stay valid)."""
        if not events:
            return tuple(events)
        now = int(time.time())
        over: dict[int, str] = {}
        # One counter per key and window, incremented once per beacon by all its events.
        await self._limit(over, f"ip/{ip}", range(len(events)), now, RATE_WINDOW_S,
                          self.limits.events_per_ip_minute, invalid.OVER_RATE)
        by_pv: dict[str, list[int]] = {}
        tiles: dict[str, list[int]] = {}
        for i, event in enumerate(events):
            if event.pv is not None:
                by_pv.setdefault(event.pv, []).append(i)
                if event.type is EventType.SERVED:
                    tiles.setdefault(event.pv, []).append(i)
        for pv, indices in by_pv.items():
            await self._limit(over, f"pv/{pv}", indices, now, RATE_WINDOW_S,
                              self.limits.events_per_page_view_minute, invalid.OVER_RATE)
        for pv, indices in tiles.items():
            await self._limit(over, f"tiles/{pv}", indices, now, TILES_WINDOW_S,
                              self.limits.tiles_per_page_view, invalid.TOO_MANY_TILES)
        return tuple(
            e._replace(invalid=over[i]) if i in over and e.invalid is None else e
            for i, e in enumerate(events)
        )

    async def _limit(self, over: dict[int, str], key: str, indices: Sequence[int], now: int,
                     window: int, limit: int, reason: str) -> None:
        if self._storage is None:
            self._storage = self._make_storage()
        start = now - now % window
        count = await self._storage.incr(f"gm/{key}/{start}", window, len(indices))
        allowed = max(limit - (count - len(indices)), 0)
        for i in indices[allowed:]:
            over.setdefault(i, reason)


class MongoCounters(Storage):
    """A `limits` storage on a MongoDB collection (PyMongo async; limits' own needs Motor)."""

    STORAGE_SCHEME = ["gigmetrics+mongodb"]  # noqa: RUF012 (the base class declares it)

    def __init__(self, collection: Any) -> None:
        super().__init__()
        self.collection = collection

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        from pymongo.errors import PyMongoError

        return PyMongoError

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        from pymongo import ReturnDocument
        from pymongo.errors import DuplicateKeyError

        # A TTL index drops counters once `expires` is past.
        expires = datetime.fromtimestamp(time.time() + expiry, tz=UTC)
        update = {"$inc": {"count": amount}, "$setOnInsert": {"expires": expires}}
        try:
            doc = await self.collection.find_one_and_update(
                {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:  # two first hits raced to insert: the other one won
            doc = await self.collection.find_one_and_update(
                {"_id": key}, update, return_document=ReturnDocument.AFTER
            )
        return int(doc["count"]) if doc else amount

    async def get(self, key: str) -> int:
        doc = await self.collection.find_one({"_id": key})
        return int(doc["count"]) if doc else 0

    async def get_expiry(self, key: str) -> float:
        doc = await self.collection.find_one({"_id": key})
        return float(doc["expires"].timestamp()) if doc else time.time()

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        result = await self.collection.delete_many({})
        return int(result.deleted_count)

    async def clear(self, key: str) -> None:
        await self.collection.delete_one({"_id": key})
