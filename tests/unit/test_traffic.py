"""The over-rate screens (server/traffic.py) and their setting, GIGMETRICS_RATE_LIMITS."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from server.edge.traffic import (
    RATE_LIMITS_DEFAULT,
    Limit,
    LocalCounters,
    TrafficLimits,
    TrafficScreen,
)
from server.errors import SettingsError
from server.model import Event, EventType, Surface
from server.settings import Settings

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
