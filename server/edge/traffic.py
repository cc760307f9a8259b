"""Over-rate traffic: too many events from one page view or one IP address per window, or
more tiles in one page view than any real listing holds. Such events are stored as invalid
traffic (`over_rate`, `too_many_tiles`), never counted. Only anonymous beacons are screened:
`recordEvents` callers hold a key.

Events that name a page view (a tile's `served`, a gig page's `view`) count against that page
view, not the IP address: the browsers behind one NAT, office proxy or mobile carrier share an
address but not their page views. Events without one (`viewable`, `click`) count against the
IP address. The limits are a setting (`GIGMETRICS_RATE_LIMITS`, parsed here).

Counters are fixed windows per subject (an IP address, a page view). `MongoCounters`, on the
MongoDB store's `rate_counters` collection, is shared by every server process: a subject's
counters live in one document (a page view's pv and tiles windows together), so a beacon costs
one `findAndModify` per subject, and its subjects are counted at once, not one after another.
In one process (the SQLite store runs in one) `LocalCounters` stands in for `limits`'
in-memory storage, whose expiry task walks every live counter on each increment (one per page
view and window: its cost grew with traffic).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, cast

from limits import parse as parse_rate
from limits.aio.storage import MemoryStorage, Storage

from ..errors import SettingsError, StoreUnavailable
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


@dataclass(frozen=True, slots=True)
class Tally:
    """What one beacon adds to one fixed-window counter of a subject (an IP address or a
    page view): `name` is the limit (ip, pv, tiles), `start` its window's start in seconds."""

    name: str
    window_s: int
    start: int
    amount: int

    @property
    def field(self) -> str:
        """The counter's name in its subject's document (a limit's window may change)."""
        return f"{self.name}{self.window_s}"


# A tally, its limit, the indices of the beacon's events it counts, the reason past it.
_Check = tuple[Tally, Limit, Sequence[int], str]


class TrafficScreen:
    """Marks the events of a beacon that go past a limit (anonymous beacons only)."""

    def __init__(
        self, storage: Callable[[], Storage] = MemoryStorage, limits: TrafficLimits | None = None
    ) -> None:
        # Made at the first beacon: a store's shared storage exists once the store is open.
        self._make_storage = storage
        self._counters: LocalCounters | MongoCounters | _LimitsCounters | None = None
        self.limits = limits or TrafficLimits()

    async def screen(
        self, events: Sequence[Event], ip: str, now: float | None = None
    ) -> tuple[Event, ...]:
        """The events, those past a limit marked invalid (the earliest stay valid)."""
        limits = self.limits
        if not events or limits == _OFF:
            return tuple(events)
        second = int(time.time() if now is None else now)
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
        # One counter per key and window, incremented once per beacon by all its events; a
        # subject's counters in one document, so a page view's pv and tiles are one command.
        checks: list[tuple[str, list[_Check]]] = []
        if by_ip and limits.ip is not None:
            checks.append((f"ip/{ip}", [_check("ip", limits.ip, by_ip, second,
                                               Invalid.OVER_RATE)]))
        for pv, indices in by_pv.items():
            subject: list[_Check] = []
            if limits.pv is not None:
                subject.append(_check("pv", limits.pv, indices, second, Invalid.OVER_RATE))
            if limits.tiles is not None and pv in tiles:
                subject.append(_check("tiles", limits.tiles, tiles[pv], second,
                                      Invalid.TOO_MANY_TILES))
            if subject:
                checks.append((f"pv/{pv}", subject))
        counts = await self._add(checks)
        over: dict[int, str] = {}
        for (_, subject), after in zip(checks, counts, strict=True):
            for (tally, limit, counted, reason), count in zip(subject, after, strict=True):
                allowed = max(limit.events - (count - tally.amount), 0)
                for i in counted[allowed:]:
                    over.setdefault(i, reason)
        if not over:
            return tuple(events)
        return tuple(
            e._replace(invalid=over[i]) if i in over and e.invalid is None else e
            for i, e in enumerate(events)
        )

    async def _add(self, checks: list[tuple[str, list[_Check]]]) -> list[list[int]]:
        """Each subject's counts after adding its tallies: all subjects at once."""
        counters = self._counters
        if counters is None:
            storage = self._make_storage()
            if isinstance(storage, MemoryStorage):
                counters = LocalCounters()
            elif isinstance(storage, MongoCounters):
                counters = storage
            else:
                counters = _LimitsCounters(storage)
            self._counters = counters
        if isinstance(counters, LocalCounters):
            return [counters.add(subject, [c[0] for c in each]) for subject, each in checks]
        if len(checks) == 1:
            subject, each = checks[0]
            return [await counters.add(subject, [c[0] for c in each])]
        # One round trip for the beacon, not one per subject. Every add is awaited before a
        # failure is raised, so none is left running.
        answers = await asyncio.gather(
            *(counters.add(subject, [c[0] for c in each]) for subject, each in checks),
            return_exceptions=True,
        )
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return cast(list[list[int]], answers)


def _check(name: str, limit: Limit, indices: Sequence[int], now: int, reason: str) -> _Check:
    window = limit.window_s
    return Tally(name, window, now - now % window, len(indices)), limit, indices, reason


_OFF = TrafficLimits(None, None, None)


class LocalCounters:
    """Fixed-window counters in this process's memory: one dict of counts per window, dropped
    whole when a later window of its length starts, so an increment costs the same whatever
    the number of live counters."""

    def __init__(self) -> None:
        self._windows: dict[int, tuple[int, dict[str, int]]] = {}  # length -> (start, counts)

    def add(self, subject: str, tallies: Sequence[Tally]) -> list[int]:
        """The counts of a subject's counters after adding `tallies`."""
        return [self.incr(f"{subject}/{t.field}", t.window_s, t.start, t.amount)
                for t in tallies]

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


class _LimitsCounters:
    """Any other `limits` storage: a counter per key and window, all of a subject at once."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def add(self, subject: str, tallies: Sequence[Tally]) -> list[int]:
        return list(await asyncio.gather(*(
            self.storage.incr(f"gm/{subject}/{t.field}/{t.start}", t.window_s, t.amount)
            for t in tallies
        )))


def window_update(tallies: Sequence[Tally]) -> list[dict[str, Any]]:
    """The update pipeline adding `tallies` to a subject's document: a counter `{s, n}` per
    limit restarts when a later window starts (a beacon of an earlier window, a clock step
    back, counts in the current one, as `LocalCounters` does), and the document lives until
    its last window ends (a TTL index on `expires`)."""
    counters: dict[str, Any] = {}
    for t in tallies:
        stored = f"${t.field}"
        counters[t.field] = {"$cond": [
            {"$gte": [{"$ifNull": [f"{stored}.s", -1]}, t.start]},
            {"s": f"{stored}.s", "n": {"$add": [f"{stored}.n", t.amount]}},
            {"s": t.start, "n": t.amount},
        ]}
    ends = max(t.start + t.window_s for t in tallies)
    expires = datetime.fromtimestamp(ends, tz=UTC)
    return [{"$set": {**counters, "expires": {"$max": ["$expires", expires]}}}]


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

    async def add(self, subject: str, tallies: Sequence[Tally]) -> list[int]:
        """The counts of a subject's counters after adding `tallies`: one `findAndModify` on
        the subject's document, whatever the number of its limits."""
        from pymongo import ReturnDocument
        from pymongo.errors import DuplicateKeyError, PyMongoError

        key, update = {"_id": f"gm/{subject}"}, window_update(tallies)
        after = ReturnDocument.AFTER
        try:
            try:
                doc = await self.collection.find_one_and_update(
                    key, update, upsert=True, return_document=after
                )
            except DuplicateKeyError:  # two first hits raced to insert: the other one won
                doc = await self.collection.find_one_and_update(key, update, return_document=after)
        except PyMongoError as error:
            why = f"MongoDB could not count this beacon's rate: {error}"
            raise StoreUnavailable(why) from error
        if doc is None:
            return [t.amount for t in tallies]
        return [int(doc[t.field]["n"]) for t in tallies]

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
