"""Over-rate traffic: too many events from one page view or one IP address per window, or
more tiles in one page view than any real listing holds. Such events are stored as invalid
traffic (`over_rate`, `too_many_tiles`), never counted. Only anonymous beacons are screened:
`recordEvents` callers hold a key.

Events that name a page view (a tile's `served`, a gig page's `view`) count against that page
view, not the IP address: the browsers behind one NAT, office proxy or mobile carrier share an
address but not their page views. Events without one (`viewable`, `click`) count against the
IP address. The limits are a setting (`GIGMETRICS_RATE_LIMITS`, parsed here).

Counting uses `limits` storages: `MongoCounters`, one on the MongoDB store's `rate_counters`
collection, shared by every server process; in one process (the SQLite store runs in one)
`LocalCounters` stands in for `limits`' in-memory storage, whose expiry task walks every live
counter on each increment (one per page view and window: its cost grew with traffic). A fixed
window per key: the window's start is part of the key, so a counter is one `$inc`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from limits import parse as parse_rate
from limits.aio.storage import MemoryStorage, Storage

from ..errors import SettingsError
from ..model import Event, EventType, Invalid

RATE_LIMITS_DEFAULT = "ip=1200/minute,pv=600/minute,tiles=1000/30 minutes"


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `events` per fixed window of `window_s` seconds."""

    events: int
    window_s: int


@dataclass(frozen=True, slots=True)
class TrafficLimits:
    """The rates past which anonymous beacons are invalid traffic; None turns one off.

    `ip`: events without a page view, per IP address; `pv`: events of one page view;
    `tiles`: served tiles of one page view.
    """

    ip: Limit | None = Limit(1200, 60)
    pv: Limit | None = Limit(600, 60)
    tiles: Limit | None = Limit(1000, 30 * 60)

    @classmethod
    def parse(cls, raw: str, name: str = "GIGMETRICS_RATE_LIMITS") -> TrafficLimits:
        """`ip=1200/minute,pv=600/minute,tiles=1000/30 minutes`; a limit is `N/unit`
        (`limits` notation: second, minute, hour, day, optionally `N/30 minutes`) or `off`;
        a key left out keeps its default; `off` alone turns every limit off."""
        if raw.strip().lower() == "off":
            return cls(None, None, None)
        keys = [f.name for f in fields(cls)]
        chosen: dict[str, Limit | None] = {}
        for part in (p.strip() for p in raw.split(",") if p.strip()):
            key, sep, value = (text.strip() for text in part.partition("="))
            if not sep or key not in keys or key in chosen:
                why = "is given twice" if key in chosen else "is not KEY=LIMIT"
                raise SettingsError(
                    f"{name} has {part!r}, which {why}: give each of {', '.join(keys)} at most "
                    f"once, as a rate like 1200/minute or off (default: {RATE_LIMITS_DEFAULT})."
                )
            chosen[key] = _limit(name, key, value)
        return replace(cls(), **chosen)


def _limit(name: str, key: str, value: str) -> Limit | None:
    if value.lower() == "off":
        return None
    try:
        rate = parse_rate(value)
    except ValueError:
        rate = None
    if rate is None or rate.amount < 1:
        raise SettingsError(
            f"{name} has {key}={value!r}: a limit is events per window, like 1200/minute, "
            "20000/hour or 1000/30 minutes, or off."
        )
    return Limit(rate.amount, rate.get_expiry())


class TrafficScreen:
    """Marks the events of a beacon that go past a limit (anonymous beacons only)."""

    def __init__(
        self, storage: Callable[[], Storage] = MemoryStorage, limits: TrafficLimits | None = None
    ) -> None:
        # Made at the first beacon: a store's shared storage exists once the store is open.
        self._make_storage = storage
        self._storage: Storage | None = None
        self._local: LocalCounters | None = None
        self.limits = limits or TrafficLimits()

    async def screen(
        self, events: Sequence[Event], ip: str, now: float | None = None
    ) -> tuple[Event, ...]:
        """The events, those past a limit marked invalid (the earliest stay valid)."""
        limits = self.limits
        if not events or limits == _OFF:
            return tuple(events)
        second = int(time.time() if now is None else now)
        over: dict[int, str] = {}
        by_ip: list[int] = []
        by_pv: dict[str, list[int]] = {}
        tiles: dict[str, list[int]] = {}
        for i, event in enumerate(events):
            if event.pv is None:
                by_ip.append(i)
                continue
            by_pv.setdefault(event.pv, []).append(i)
            if event.type is EventType.SERVED:
                tiles.setdefault(event.pv, []).append(i)
        # One counter per key and window, incremented once per beacon by all its events. On a
        # shared storage the increments go out at once: one round trip, not one per counter.
        checks: list[tuple[str, Sequence[int], Limit | None, str]] = []
        if by_ip:
            checks.append((f"ip/{ip}", by_ip, limits.ip, Invalid.OVER_RATE))
        checks += [(f"pv/{pv}", ix, limits.pv, Invalid.OVER_RATE) for pv, ix in by_pv.items()]
        checks += [(f"tiles/{pv}", ix, limits.tiles, Invalid.TOO_MANY_TILES)
                   for pv, ix in tiles.items()]
        checks = [check for check in checks if check[2] is not None]
        counts = await self._counts([(key, len(ix), limit) for key, ix, limit, _ in checks],
                                    second)
        for (_, indices, limit, reason), count in zip(checks, counts, strict=True):
            assert limit is not None
            allowed = max(limit.events - (count - len(indices)), 0)
            for i in indices[allowed:]:  # the first reason found stays (ip, pv, then tiles)
                over.setdefault(i, reason)
        if not over:
            return tuple(events)
        return tuple(
            e._replace(invalid=over[i]) if i in over and e.invalid is None else e
            for i, e in enumerate(events)
        )

    async def _counts(
        self, increments: Sequence[tuple[str, int, Limit | None]], now: int
    ) -> list[int]:
        """Each key's count in its limit's current window after adding its amount."""
        if self._local is None and self._storage is None:
            storage = self._make_storage()
            if isinstance(storage, MemoryStorage):
                self._local = LocalCounters()
            else:
                self._storage = storage
        windows = []
        for key, amount, limit in increments:
            assert limit is not None
            window = limit.window_s
            windows.append((key, amount, window, now - now % window))
        if self._local is not None:  # in memory: no tasks to make
            local = self._local
            return [local.incr(key, w, start, amount) for key, amount, w, start in windows]
        shared = self._storage
        assert shared is not None
        return list(await asyncio.gather(
            *(shared.incr(f"gm/{key}/{start}", w, amount) for key, amount, w, start in windows)
        ))


_OFF = TrafficLimits(None, None, None)


class LocalCounters:
    """Fixed-window counters in this process's memory: one dict of counts per window, dropped
    whole when a later window of its length starts, so an increment costs the same whatever
    the number of live counters."""

    def __init__(self) -> None:
        self._windows: dict[int, tuple[int, dict[str, int]]] = {}  # length -> (start, counts)

    def incr(self, key: str, window_s: int, start: int, amount: int) -> int:
        """The count of `key` in the window of `window_s` seconds from `start`, after adding
        `amount`. A beacon of an earlier window (a clock step back) counts in the current one."""
        current = self._windows.get(window_s)
        if current is None or current[0] < start:
            current = self._windows[window_s] = (start, {})
        counts = current[1]
        count = counts.get(key, 0) + amount
        counts[key] = count
        return count


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
