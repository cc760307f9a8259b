"""The over-rate screens (server/edge/traffic.py), in memory and on MongoDB, and their setting,
GIGMETRICS_RATE_LIMITS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import AutoReconnect, DuplicateKeyError

from server.edge.traffic import (
    RATE_LIMITS_DEFAULT,
    Limit,
    LocalCounters,
    MongoCounters,
    TrafficLimits,
    TrafficScreen,
)
from server.errors import SettingsError, StoreUnavailable
from server.model import Event, EventType, Surface
from server.settings import Settings
from server.stores import MongoStore

NOW = 1_800_000_000  # a minute's start, and a 30-minute window's


def served(n: int, pv: str | None = "p1") -> Event:
    return Event(f"served-{n:04d}", EventType.SERVED, "g-1", NOW * 1000, imp=f"i{n}", pv=pv,
                 surface=Surface.SEARCH)


def viewable(n: int) -> Event:
    return Event(f"viewable-{n:04d}", EventType.VIEWABLE, "g-1", NOW * 1000, imp=f"i{n}")


def screen(traffic: TrafficScreen, events: Sequence[Event], ip: str = "10.0.0.1",
           now: float = NOW) -> list[str | None]:
    return [e.invalid for e in asyncio.run(traffic.screen(events, ip, now))]


def limits(raw: str) -> TrafficScreen:
    return TrafficScreen(limits=TrafficLimits.parse(raw))


def test_the_defaults_are_the_documented_ones() -> None:
    assert TrafficLimits() == TrafficLimits.parse(RATE_LIMITS_DEFAULT) == TrafficLimits(
        ip=Limit(1200, 60), pv=Limit(600, 60), tiles=Limit(1000, 1800)
    )
    assert Settings.from_env({}).rate_limits == TrafficLimits()


def test_events_past_the_ip_limit_are_over_rate_and_the_earliest_stay_valid() -> None:
    traffic = limits("ip=3/minute")
    assert screen(traffic, [viewable(n) for n in range(2)]) == [None, None]
    assert screen(traffic, [viewable(n) for n in range(2, 4)]) == [None, "over_rate"]
    assert screen(traffic, [viewable(4)]) == ["over_rate"]
    assert screen(traffic, [viewable(5)], ip="10.0.0.2") == [None]  # another address


def test_a_new_window_starts_a_new_count() -> None:
    traffic = limits("ip=1/minute")
    assert screen(traffic, [viewable(0), viewable(1)]) == [None, "over_rate"]
    assert screen(traffic, [viewable(2)], now=NOW + 59) == ["over_rate"]
    assert screen(traffic, [viewable(3)], now=NOW + 60) == [None]


def test_many_page_views_behind_one_address_are_not_one_client() -> None:
    # A NAT, an office proxy: one address, many browsers, each with its own page view.
    traffic = limits("ip=10/minute,pv=20/minute")
    for pv in range(50):
        batch = [served(n, pv=f"p{pv}") for n in range(20)]
        assert screen(traffic, batch) == [None] * 20


def test_events_past_the_page_view_limit_are_over_rate() -> None:
    traffic = limits("pv=5/minute,tiles=off")
    assert screen(traffic, [served(n) for n in range(4)]) == [None] * 4
    assert screen(traffic, [served(n) for n in range(4, 7)]) == [None, "over_rate", "over_rate"]
    assert screen(traffic, [served(7, pv="p2")]) == [None]


def test_tiles_past_any_real_listing_are_too_many_tiles() -> None:
    traffic = limits("pv=off,tiles=3/30 minutes")
    marks = screen(traffic, [served(n) for n in range(5)])
    assert marks == [None, None, None, "too_many_tiles", "too_many_tiles"]
    # The tiles window is 30 minutes: a minute later the page view is still over.
    assert screen(traffic, [served(5)], now=NOW + 60) == ["too_many_tiles"]


def test_a_limit_turned_off_never_marks() -> None:
    for raw in ("off", "OFF", "ip=off,pv=off,tiles=off"):
        traffic = limits(raw)
        events = [viewable(n) for n in range(3000)] + [served(n) for n in range(3000)]
        assert set(screen(traffic, events)) == {None}


def test_local_counters_forget_a_window_once_a_later_one_starts() -> None:
    # Memory stays bounded by one window's page views, however long the server runs.
    counters = LocalCounters()
    assert counters.incr("pv/p1", 60, NOW, 5) == 5
    assert counters.incr("pv/p1", 60, NOW, 2) == 7
    assert counters.incr("tiles/p1", 1800, NOW, 3) == 3  # windows of each length apart
    assert counters.incr("pv/p2", 60, NOW + 60, 1) == 1
    assert counters.incr("pv/p1", 60, NOW + 60, 1) == 1
    assert counters.incr("tiles/p1", 1800, NOW, 1) == 4
    assert sum(len(counts) for _, counts in counters._windows.values()) == 3


def test_an_event_already_invalid_keeps_its_reason() -> None:
    traffic = limits("ip=1/minute")
    crawled = viewable(1)._replace(invalid="crawler")
    assert screen(traffic, [viewable(0), crawled]) == [None, "crawler"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ip=5000/minute", TrafficLimits(ip=Limit(5000, 60))),
        ("pv=off", TrafficLimits(pv=None)),
        (" ip = 20000/hour , tiles = 2000 per 30 minutes ",
         TrafficLimits(ip=Limit(20000, 3600), tiles=Limit(2000, 1800))),
        ("pv=10/second", TrafficLimits(pv=Limit(10, 1))),
    ],
)
def test_the_setting_names_only_what_it_changes(raw: str, expected: TrafficLimits) -> None:
    assert TrafficLimits.parse(raw) == expected
    assert Settings.from_env({"GIGMETRICS_RATE_LIMITS": raw}).rate_limits == expected


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("ip=1200", "ip='1200'"),  # no window
        ("ip=0/minute", "ip='0/minute'"),
        ("ip=lots", "ip='lots'"),
        ("ips=1/minute", "'ips=1/minute'"),
        ("1200/minute", "'1200/minute'"),
        ("ip=1/minute,ip=off", "'ip=off', which is given twice"),
    ],
)
def test_a_bad_setting_names_itself_and_the_format(raw: str, named: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"GIGMETRICS_RATE_LIMITS": raw})
    message = str(error.value)
    assert message.startswith("GIGMETRICS_RATE_LIMITS has ")
    assert named in message
    assert "1200/minute" in message and "off" in message


# On MongoDB: the counters every server process shares (`MongoCounters`).

LIVE = (int(time.time()) // 3600 + 2) * 3600  # an hour's start ahead: no counter expires


def beacon(pv: str, tiles: int, seen: int, first: int = 0) -> list[Event]:
    """A listing's beacon: `tiles` served in page view `pv`, `seen` of them viewable."""
    return ([served(first + n, pv=pv) for n in range(tiles)]
            + [viewable(first + n) for n in range(seen)])


class Commands(monitoring.CommandListener):
    """The name of every command a client sends."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class Servers:
    """Screens on MongoDB counters, each on a store of its own, like servers' processes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.commands = Commands()
        self.stores: list[MongoStore] = []

    async def screen(self, raw: str) -> TrafficScreen:
        def client(url: str) -> AsyncMongoClient[dict[str, Any]]:
            return AsyncMongoClient(url, event_listeners=[self.commands])

        store = MongoStore(self.url, client_factory=client)
        await store.open()
        self.stores.append(store)
        return TrafficScreen(store.counters, TrafficLimits.parse(raw))


@pytest.fixture
async def servers(mongo_database_url: str) -> AsyncIterator[Servers]:
    opened = Servers(mongo_database_url)
    yield opened
    for store in opened.stores:
        await store.close()


async def marks(traffic: TrafficScreen, events: Sequence[Event], ip: str = "10.0.0.1",
                now: float = LIVE) -> list[str | None]:
    return [e.invalid for e in await traffic.screen(events, ip, now)]


async def test_mongodb_counters_mark_what_memory_counters_mark(servers: Servers) -> None:
    raw = "ip=3/minute,pv=5/minute,tiles=7/30 minutes"
    local, shared = limits(raw), await servers.screen(raw)
    steps = [
        (beacon("p1", 4, 2), LIVE),
        (beacon("p1", 3, 2, first=4), LIVE + 1),  # pv 7 of 5, ip 4 of 3
        (beacon("p1", 3, 1, first=7), LIVE + 60),  # a new minute, but tiles 10 of 7
        (beacon("p1", 1, 0, first=10), LIVE),  # a clock step back: counts in the current one
        (beacon("p2", 2, 0), LIVE + 61),
        (beacon("p1", 2, 1, first=11), LIVE + 1800),  # a new half hour
    ]
    answers = [await marks(shared, events, now=now) for events, now in steps]
    assert answers == [await marks(local, events, now=now) for events, now in steps]
    over, tiles, ok = "over_rate", "too_many_tiles", None
    assert answers == [
        [ok] * 6,
        [ok, over, over, ok, over],
        [tiles, tiles, tiles, ok],
        [tiles],
        [ok, ok],
        [ok, ok, ok],
    ]


async def test_concurrent_beacons_of_one_page_view_count_exactly(servers: Servers) -> None:
    # Two servers adding to the counters of one page view and address at once: every count
    # lands once, and exactly the limit stays valid. The counters exist already (one beacon
    # made them): the wire server the tests run on has a known race of its own when two
    # upserts create one new document, which real MongoDB has not; the code's answer to
    # that race (a duplicate key, then an update) has a test of its own below.
    raw = "ip=25/minute,pv=50/minute,tiles=100/30 minutes"
    screens = [await servers.screen(raw) for _ in "ab"]
    for round_ in range(3):
        pv, ip = f"p-hot-{round_}", f"10.1.0.{round_}"
        first = await marks(screens[0], beacon(pv, 3, 1, first=10_000), ip=ip)
        assert first == [None] * 4
        answers = await asyncio.gather(*(
            marks(screens[n % 2], beacon(pv, 3, 1, first=4 * n), ip=ip) for n in range(40)
        ))
        served_marks = [m for answer in answers for m in answer[:3]]
        viewable_marks = [answer[3] for answer in answers]
        assert served_marks.count(None) == 47  # 123 events of one page view, 50 allowed
        assert set(served_marks) == {None, "over_rate"}
        assert viewable_marks.count(None) == 24
        # One more of each: the counts went on from exactly 120 and 40.
        more = await marks(screens[0], beacon(pv, 1, 1, first=999), ip=ip)
        assert more == ["over_rate", "over_rate"]


async def test_a_listing_beacon_costs_one_command_per_subject(servers: Servers) -> None:
    traffic = await servers.screen(RATE_LIMITS_DEFAULT)
    commands = servers.commands.names
    commands.clear()
    assert set(await marks(traffic, beacon("p1", 20, 3))) == {None}
    assert commands == ["findAndModify", "findAndModify"]  # the page view, the address
    commands.clear()
    assert set(await marks(traffic, beacon("p2", 20, 0, first=20))) == {None}
    assert commands == ["findAndModify"]  # its pv and tiles windows: one document


class Gate:
    """A counters collection that answers only once two increments are waiting on it."""

    def __init__(self, error: Exception | None = None) -> None:
        self.waiting = 0
        self.both = asyncio.Event()
        self.error = error

    async def find_one_and_update(self, key: dict[str, str], *_: Any, **__: Any) -> None:
        self.waiting += 1
        if self.waiting == 2:
            self.both.set()
        await asyncio.wait_for(self.both.wait(), timeout=5)
        if self.error is not None and key["_id"].startswith("gm/ip/"):
            raise self.error


async def test_a_beacon_counts_its_subjects_at_once_not_one_after_another() -> None:
    gate = Gate()
    traffic = TrafficScreen(lambda: MongoCounters(gate), TrafficLimits())
    assert set(await marks(traffic, beacon("p1", 3, 1))) == {None}
    assert gate.waiting == 2


async def test_counters_that_cannot_count_make_the_beacon_wait_for_a_retry() -> None:
    gate = Gate(AutoReconnect("connection closed"))
    traffic = TrafficScreen(lambda: MongoCounters(gate), TrafficLimits())
    with pytest.raises(StoreUnavailable, match="could not count this beacon's rate"):
        await traffic.screen(beacon("p1", 3, 1), "10.0.0.1")


class LosesTheInsertRace:
    """A counters collection on which another server creates the document first: the first
    upsert does what the other server did, then fails as the loser of that race would."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection
        self.raced = False

    async def find_one_and_update(self, *args: Any, **options: Any) -> Any:
        if options.get("upsert") and not self.raced:
            self.raced = True
            await self.collection.find_one_and_update(*args, **options)
            raise DuplicateKeyError("E11000 duplicate key error")
        return await self.collection.find_one_and_update(*args, **options)


async def test_a_first_hit_that_loses_the_insert_race_counts_on_the_winners_document(
    servers: Servers,
) -> None:
    await servers.screen("off")
    collection = servers.stores[0]._live().rate_counters
    traffic = TrafficScreen(lambda: MongoCounters(LosesTheInsertRace(collection)),
                            TrafficLimits.parse("pv=5/minute,tiles=off"))
    assert await marks(traffic, beacon("p1", 3, 0)) == [None, None, "over_rate"]
    assert await marks(traffic, beacon("p1", 1, 0, first=3)) == ["over_rate"]
