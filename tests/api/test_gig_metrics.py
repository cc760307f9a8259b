"""`gigMetrics`: exact counts and rates, zero data, daily series in any zone, ranges."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from .api_harness import (
    HOUR_MS,
    Api,
    ApiFactory,
    CountingStore,
    Events,
    days_back,
    local_ms,
    local_today,
    now_ms,
)

ZERO = {
    "servedImpressions": 0,
    "viewableImpressions": 0,
    "clicks": 0,
    "views": 0,
    "ctr": None,
    "viewableCtr": None,
    "viewabilityRate": None,
    "averagePosition": None,
}


def by_surface(result: dict[str, object]) -> dict[str, dict[str, object]]:
    return {s["surface"]: s for s in result["bySurface"]}  # type: ignore[attr-defined,index]


def by_date(result: dict[str, object]) -> dict[str, dict[str, object]]:
    return {d["date"]: d for d in result["daily"]}  # type: ignore[attr-defined,index]


def test_counts_and_rates_are_exact(api: Api, events: Events) -> None:
    t = now_ms() - 2 * HOUR_MS
    batch = [
        *(events.served("g-1", f"i{n}", t, position=n) for n in range(1, 5)),
        events.served("g-1", "i5", t, surface="homepage", position=1),
        *(events.viewable("g-1", f"i{n}", t + 1000) for n in range(1, 4)),
        events.click("g-1", "i1", t + 2000),  # already viewable: no second viewable
        events.click("g-1", "i5", t + 2000, surface="homepage"),  # viewable, not a click
        events.view("g-1", "p1", t + 3000),
        events.view("g-1", "p2", t + 3000),
        events.view("g-1", "p1", t + 4000),  # the same page load again: one view
    ]
    assert api.collect(batch) == {"accepted": 13, "duplicates": 0, "rejected": []}

    result = api.gig("g-1")

    assert {k: result[k] for k in ZERO} == {
        "servedImpressions": 5,
        "viewableImpressions": 4,
        "clicks": 1,
        "views": 2,
        "ctr": 20.0,
        "viewableCtr": 25.0,
        "viewabilityRate": 80.0,
        "averagePosition": 2.2,
    }
    surfaces = by_surface(result)
    assert list(surfaces) == ["SEARCH", "CATEGORY", "HOMEPAGE", "USER_PAGE", "OTHER"]
    assert surfaces["SEARCH"]["servedImpressions"] == 4
    assert surfaces["SEARCH"]["clicks"] == 1
    assert surfaces["SEARCH"]["ctr"] == 25.0
    assert surfaces["SEARCH"]["viewableCtr"] == pytest.approx(100 / 3)
    assert surfaces["SEARCH"]["averagePosition"] == 2.5
    # bySurface clicks are that surface's clicks, even where they are not `clicks`.
    assert surfaces["HOMEPAGE"]["clicks"] == 1
    assert surfaces["HOMEPAGE"]["ctr"] == 100.0
    assert surfaces["OTHER"]["views"] == 2
    assert {k: surfaces["CATEGORY"][k] for k in ZERO} == ZERO
    today = by_date(result)[local_today("UTC").isoformat()]
    yesterday = by_date(result).get(days_back(1).isoformat())
    # The events are two hours old: today's, or yesterday's just after midnight.
    day = today if today["servedImpressions"] else yesterday
    assert day is not None and day["servedImpressions"] == 5 and day["clicks"] == 1


def test_gig_without_data_has_zeros_and_null_rates(api: Api) -> None:
    result = api.gig("g-never-seen")

    assert result["gigId"] == "g-never-seen"
    assert {k: result[k] for k in ZERO} == ZERO
    assert len(result["daily"]) == 31
    assert all({k: d[k] for k in ZERO} == ZERO for d in result["daily"])
    assert all({k: s[k] for k in ZERO} == ZERO for s in result["bySurface"])


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York"])
def test_default_window_has_31_local_days_and_late_events_land_on_their_day(
    api: Api, events: Events, tz: str
) -> None:
    late_day, early_day = days_back(3, tz), days_back(2, tz)
    api.collect([
        events.served("g-tz", "late", local_ms(late_day, 23, 50, tz)),
        events.served("g-tz", "early", local_ms(early_day, 0, 10, tz)),
        events.served("g-tz", "noon", local_ms(early_day, 12, 0, tz)),
    ])

    result = api.gig("g-tz", tz=tz)

    dates = [d["date"] for d in result["daily"]]
    # SPEC: 31 local days, or 30 or 32 when a clock change falls inside the window (New York
    # for the 30 days after its November change, say): the days [start, end) touches.
    zone = ZoneInfo(tz)
    start, end = (datetime.fromisoformat(result["window"][k]) for k in ("start", "end"))
    first = start.astimezone(zone).date()
    last = (end - timedelta(milliseconds=1)).astimezone(zone).date()
    touched = (last - first).days + 1
    assert touched == 31 or _clock_changes_between(start, end, zone)
    assert len(dates) == touched
    assert dates[-1] == local_today(tz).isoformat()
    assert dates == [(first + timedelta(days=n)).isoformat() for n in range(touched)]
    days = by_date(result)
    assert days[late_day.isoformat()]["servedImpressions"] == 1
    assert days[early_day.isoformat()]["servedImpressions"] == 2
    assert sum(d["servedImpressions"] for d in result["daily"]) == 3
    assert result["window"]["timeZone"] == tz
    assert result["window"]["days"] == touched


def test_range_covers_whole_local_days(api: Api, events: Events) -> None:
    tz = "Asia/Kolkata"
    first, last = days_back(5, tz), days_back(3, tz)
    api.collect([
        events.served("g-r", "before", local_ms(days_back(6, tz), 23, 59, tz)),
        events.served("g-r", "first", local_ms(first, 0, 0, tz)),
        events.served("g-r", "last", local_ms(last, 23, 50, tz)),
        events.click("g-r", "last", local_ms(last, 23, 51, tz)),
        events.served("g-r", "after", local_ms(days_back(2, tz), 0, 0, tz)),
    ])

    result = api.gig(
        "g-r", range={"from": first.isoformat(), "to": last.isoformat()}, tz=tz
    )

    assert [d["date"] for d in result["daily"]] == [
        first.isoformat(), days_back(4, tz).isoformat(), last.isoformat()
    ]
    assert [d["servedImpressions"] for d in result["daily"]] == [1, 0, 1]
    assert result["servedImpressions"] == 2
    assert result["clicks"] == 1
    assert result["ctr"] == 50.0
    assert result["window"]["start"] == f"{days_back(6, tz).isoformat()}T18:30:00Z"


def test_one_day_range(api: Api) -> None:
    day = days_back(1).isoformat()
    result = api.gig("g-x", range={"from": day, "to": day})
    assert [d["date"] for d in result["daily"]] == [day]
    assert result["window"]["days"] == 1


def test_range_upside_down_says_to_swap(api: Api) -> None:
    error = api.error(
        "{ gigMetrics(gigId: \"g\", range: {from: \"2026-03-10\", to: \"2026-03-01\"}) { ctr } }"
    )
    assert "after range.to" in error["message"]
    assert "swap them" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_range_older_than_kept_says_how_far_back(api: Api) -> None:
    first = days_back(500).isoformat()
    error = api.error(
        "query($r: DateRangeInput) { gigMetrics(gigId: \"g\", range: $r) { ctr } }",
        r={"from": first, "to": days_back(480).isoformat()},
    )
    assert "older than the 400 days kept" in error["message"]


def test_range_too_long(api: Api) -> None:
    error = api.error(
        "query($r: DateRangeInput) { gigMetrics(gigId: \"g\", range: $r) { ctr } }",
        r={"from": days_back(401).isoformat(), "to": days_back(0).isoformat()},
    )
    assert "402 days" in error["message"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2026-02-30", "not a calendar day"),
        ("03/01/2026", "YYYY-MM-DD"),
        ("2026-3-1", "YYYY-MM-DD"),
    ],
)
def test_bad_date_says_the_format(api: Api, value: str, says: str) -> None:
    error = api.error(
        "query($r: DateRangeInput) { gigMetrics(gigId: \"g\", range: $r) { ctr } }",
        r={"from": value, "to": "2026-03-02"},
    )
    assert says in error["message"]
    assert "from" in error["message"]


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "utc+5", "localtime", "Not a zone"])
def test_unknown_time_zone_is_refused_with_examples(api: Api, tz: str) -> None:
    error = api.error(
        "query($tz: String) { gigMetrics(gigId: \"g\", timeZone: $tz) { ctr } }", tz=tz
    )
    assert "is not an IANA time zone name" in error["message"]
    assert "Asia/Kolkata" in error["message"]


def test_one_gig_with_its_days_is_one_store_read(make_api: ApiFactory, events: Events) -> None:
    api = make_api(wrap=CountingStore)
    ts = now_ms() - HOUR_MS
    api.collect([events.served("g-1", "i-1", ts), events.click("g-1", "i-1", ts + 1000)])
    store: CountingStore = api.store
    store.calls.clear()
    data = api.data('{ gigMetrics(gigId: "g-1") { clicks ctr daily { clicks } '
                    "bySurface { surface clicks } } }")["gigMetrics"]
    assert (data["clicks"], data["ctr"]) == (1, 100.0)
    assert sum(day["clicks"] for day in data["daily"]) == 1
    assert dict(store.calls) == {"span_totals": 1}  # the totals come from the same read
    store.calls.clear()
    assert api.data('{ gigMetrics(gigId: "g-1") { clicks } }')["gigMetrics"]["clicks"] == 1
    assert dict(store.calls) == {"surface_totals": 1}


def _clock_changes_between(start: datetime, end: datetime, zone: ZoneInfo) -> bool:
    """True when `zone`'s UTC offset differs at some hour of [start, end)."""
    offsets = {
        (start + timedelta(hours=h)).astimezone(zone).utcoffset()
        for h in range(int((end - start).total_seconds() // 3600) + 1)
    }
    return len(offsets) > 1
