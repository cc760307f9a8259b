"""SPEC §1 metrics: rollup rows in; totals, zero-filled daily series and per-surface figures out."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.counting.metrics import Metrics, RollupRow, counted_clicks, rate, report, totals
from server.counting.rules import plan
from server.counting.windows import range_window, rolling_window
from server.model import BUCKET_MS, CLICK_SURFACES_DEFAULT, Counts, Event, EventType, Surface

SEARCH, CATEGORY, HOMEPAGE, USER_PAGE, OTHER = Surface
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def ms(iso: str, tz: str = "UTC") -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)


NOW = ms("2026-03-20T12:34:56")
WINDOW = rolling_window(NOW)  # UTC, 2026-02-18 12:30 .. 2026-03-20 12:34:56
JUNE = range_window(date(2026, 6, 1), date(2026, 6, 30), "UTC", now=ms("2026-07-01T00:00"))


def row(
    bucket: int,
    surface: Surface = SEARCH,
    *,
    gig: str = "g-1",
    served: int = 0,
    viewable: int = 0,
    clicks: int = 0,
    views: int = 0,
    position_sum: int = 0,
    position_count: int = 0,
) -> RollupRow:
    counts = Counts(served, viewable, clicks, views, position_sum, position_count)
    return RollupRow(gig, bucket, surface, counts)


def as_tuple(m: Metrics) -> tuple[int, int, int, int]:
    return m.served, m.viewable, m.clicks, m.views


# --- rates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (0, 0, None),
        (5, 0, None),
        (0, -1, None),
        (0, 10, 0.0),
        (1, 4, 25.0),
        (1, 3, 100 / 3),
        (2, 3, 200 / 3),
        (3, 3, 100.0),
        (7, 10, 70.0),
        (1, 1_000_000, 0.0001),
        (999_999, 1_000_000, 99.9999),
    ],
)
def test_rate_is_a_percentage_or_none_when_there_is_nothing_to_divide_by(
    numerator: int, denominator: int, expected: float | None
) -> None:
    result = rate(numerator, denominator)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected, rel=1e-12)


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_rate_is_never_zero_nan_or_an_error_for_an_empty_denominator(
    numerator: int, denominator: int
) -> None:
    result = rate(numerator, denominator)
    if denominator == 0:
        assert result is None
    else:
        assert result is not None and math.isfinite(result) and result >= 0
        if numerator <= denominator:
            assert result <= 100.0


@pytest.mark.parametrize(
    ("counts", "ctr", "viewable_ctr", "viewability_rate", "average_position"),
    [
        (Metrics(), None, None, None, None),
        (Metrics(views=12), None, None, None, None),
        (
            Metrics(served=200, viewable=120, clicks=6, position_sum=500, position_count=200),
            3.0,
            5.0,
            60.0,
            2.5,
        ),
        (Metrics(served=10), 0.0, None, 0.0, None),
        (Metrics(served=10, viewable=10, clicks=10), 100.0, 100.0, 100.0, None),
        (Metrics(served=3, viewable=2, clicks=1), 100 / 3, 50.0, 200 / 3, None),
        (Metrics(served=4, position_sum=7, position_count=3), 0.0, None, 0.0, 7 / 3),
        (Metrics(served=1, position_sum=1, position_count=1), 0.0, None, 0.0, 1.0),
    ],
)
def test_rates_table(
    counts: Metrics,
    ctr: float | None,
    viewable_ctr: float | None,
    viewability_rate: float | None,
    average_position: float | None,
) -> None:
    assert counts.ctr == pytest.approx(ctr)
    assert counts.viewable_ctr == pytest.approx(viewable_ctr)
    assert counts.viewability_rate == pytest.approx(viewability_rate)
    assert counts.average_position == pytest.approx(average_position)


def test_ctr_is_clicks_over_served_not_over_viewable() -> None:
    m = Metrics(served=100, viewable=50, clicks=5)
    assert (m.ctr, m.viewable_ctr) == (5.0, 10.0)


# --- report: the daily series -------------------------------------------------------------


def test_a_gig_with_no_data_has_zeros_and_null_rates_on_every_day() -> None:
    result = report("g-1", [], WINDOW)
    assert result.gig == "g-1"
    assert result.total == Metrics()
    assert [d.date for d in result.daily] == [d.date for d in WINDOW.days]
    assert len(result.daily) == 31
    for day in result.daily:
        assert day.metrics == Metrics()
        assert day.metrics.ctr is None and day.metrics.average_position is None
    assert [s.surface for s in result.by_surface] == list(Surface)
    assert all(s.metrics == Metrics() for s in result.by_surface)


def test_the_daily_series_is_zero_filled_around_the_days_with_data() -> None:
    rows = [row(ms("2026-06-03T10:00"), served=4), row(ms("2026-06-28T23:45"), viewable=1)]
    result = report("g-1", rows, JUNE)
    assert len(result.daily) == 30
    by_date = {d.date: as_tuple(d.metrics) for d in result.daily}
    assert by_date.pop(date(2026, 6, 3)) == (4, 0, 0, 0)
    assert by_date.pop(date(2026, 6, 28)) == (0, 1, 0, 0)
    assert set(by_date.values()) == {(0, 0, 0, 0)}


def test_each_row_lands_on_the_day_of_its_bucket() -> None:
    rows = [
        row(ms("2026-06-01T00:00"), served=1),
        row(ms("2026-06-01T23:45"), served=2),
        row(ms("2026-06-02T00:00"), served=4),
        row(ms("2026-06-30T23:45"), served=8),
    ]
    daily = report("g-1", rows, JUNE).daily
    assert [d.metrics.served for d in daily[:2]] == [3, 4]
    assert daily[-1].metrics.served == 8


@pytest.mark.parametrize(
    ("bucket", "counted"),
    [
        (JUNE.start - BUCKET_MS, False),
        (JUNE.start - 1, False),
        (JUNE.start, True),
        (JUNE.end - BUCKET_MS, True),
        (JUNE.end, False),  # half-open: [start, end)
        (JUNE.end + DAY, False),
    ],
)
def test_rows_outside_the_window_are_ignored(bucket: int, counted: bool) -> None:
    result = report("g-1", [row(bucket, served=1, clicks=1, views=1)], JUNE)
    assert result.total.served == int(counted)
    assert sum(d.metrics.served for d in result.daily) == int(counted)
    assert sum(s.metrics.served for s in result.by_surface) == int(counted)


def test_the_bucket_holding_now_is_in_the_rolling_window() -> None:
    result = report("g-1", [row(NOW - NOW % BUCKET_MS, served=1)], WINDOW)
    assert result.daily[-1].metrics.served == 1
    assert report("g-1", [row(WINDOW.start - BUCKET_MS, served=1)], WINDOW).total.served == 0
    assert report("g-1", [row(WINDOW.start, served=1)], WINDOW).daily[0].metrics.served == 1


def test_rows_of_other_gigs_are_ignored() -> None:
    rows = [row(JUNE.start, served=1), row(JUNE.start, gig="g-2", served=100)]
    assert report("g-1", rows, JUNE).total.served == 1


@pytest.mark.parametrize(
    ("tz_name", "local", "day"),
    [
        ("Asia/Kathmandu", "2026-03-10T23:45", date(2026, 3, 10)),  # 18:00 UTC
        ("Asia/Kathmandu", "2026-03-11T00:00", date(2026, 3, 11)),  # 18:15 UTC
        ("Asia/Kolkata", "2026-03-10T23:30", date(2026, 3, 10)),
        ("Asia/Kolkata", "2026-03-10T23:45", date(2026, 3, 10)),
        ("Asia/Kolkata", "2026-03-11T00:00", date(2026, 3, 11)),
        ("Pacific/Chatham", "2026-03-10T23:45", date(2026, 3, 10)),
        ("America/New_York", "2026-03-08T23:45", date(2026, 3, 8)),  # after the spring jump
        ("America/Santiago", "2026-09-06T01:00", date(2026, 9, 6)),  # first instant of the day
    ],
)
def test_a_bucket_lands_on_the_callers_local_day(tz_name: str, local: str, day: date) -> None:
    bucket = ms(local, tz_name)
    assert bucket % BUCKET_MS == 0
    window = range_window(date(2026, 3, 1), date(2026, 9, 30), tz_name, now=ms("2026-10-01T00:00"))
    daily = report("g-1", [row(bucket, served=1)], window).daily
    assert [d.date for d in daily if d.metrics.served] == [day]


def test_kathmandu_2345_is_not_the_utc_day() -> None:
    bucket = ms("2026-03-10T23:45", "Asia/Kathmandu")
    assert datetime.fromtimestamp(bucket / 1000, UTC).isoformat() == "2026-03-10T18:00:00+00:00"
    window = rolling_window(ms("2026-03-20T12:00"), "Asia/Kathmandu")
    daily = {d.date: d.metrics.served for d in report("g-1", [row(bucket, served=1)], window).daily}
    assert daily[date(2026, 3, 10)] == 1
    assert sum(daily.values()) == 1


# --- report: click surfaces ---------------------------------------------------------------


def test_clicks_on_non_click_surfaces_are_shown_per_surface_but_are_not_clicks() -> None:
    b = JUNE.start
    rows = [
        row(b, SEARCH, served=10, viewable=8, clicks=1),
        row(b, CATEGORY, served=5, viewable=5, clicks=2),
        row(b, HOMEPAGE, served=5, viewable=4, clicks=3),
        row(b, USER_PAGE, served=2, viewable=2, clicks=2),
        row(b, OTHER, views=7),
    ]
    result = report("g-1", rows, JUNE)
    assert as_tuple(result.total) == (22, 19, 3, 7)
    assert as_tuple(result.daily[0].metrics) == (22, 19, 3, 7)
    assert result.total.ctr == pytest.approx(3 * 100 / 22)
    per_surface = {s.surface: as_tuple(s.metrics) for s in result.by_surface}
    assert per_surface == {
        SEARCH: (10, 8, 1, 0),
        CATEGORY: (5, 5, 2, 0),
        HOMEPAGE: (5, 4, 3, 0),
        USER_PAGE: (2, 2, 2, 0),
        OTHER: (0, 0, 0, 7),
    }
    homepage = next(s for s in result.by_surface if s.surface is HOMEPAGE)
    assert homepage.metrics.ctr == 60.0


def test_the_default_click_surfaces_are_search_and_category() -> None:
    assert frozenset({SEARCH, CATEGORY}) == CLICK_SURFACES_DEFAULT


def test_click_surfaces_can_be_chosen() -> None:
    b = JUNE.start
    rows = [row(b, SEARCH, served=1, clicks=1), row(b, HOMEPAGE, served=1, clicks=1)]
    assert report("g-1", rows, JUNE, frozenset({HOMEPAGE})).total.clicks == 1
    assert report("g-1", rows, JUNE, frozenset(Surface)).total.clicks == 2
    assert report("g-1", rows, JUNE, frozenset()).total.clicks == 0
    by_surface = report("g-1", rows, JUNE, frozenset()).by_surface
    assert sum(s.metrics.clicks for s in by_surface) == 2


def test_counted_clicks_keeps_everything_but_clicks_off_a_click_surface() -> None:
    counts = Counts(5, 4, 3, 2, 9, 3)
    assert counted_clicks(counts, SEARCH, CLICK_SURFACES_DEFAULT) == counts
    assert counted_clicks(counts, HOMEPAGE, CLICK_SURFACES_DEFAULT) == Counts(5, 4, 0, 2, 9, 3)
    assert counts == Counts(5, 4, 3, 2, 9, 3)  # not changed in place


def test_report_does_not_change_its_rows() -> None:
    rows = [
        row(JUNE.start, served=1),
        row(JUNE.start, served=2),
        row(JUNE.start, HOMEPAGE, clicks=1),
    ]
    report("g-1", rows, JUNE)
    report("g-1", rows, JUNE)
    assert [r.counts.served for r in rows] == [1, 2, 0]
    assert rows[2].counts.clicks == 1


def test_average_position_is_over_impressions_that_carried_one() -> None:
    rows = [
        row(JUNE.start, served=10, position_sum=20, position_count=5),
        row(JUNE.start + DAY, HOMEPAGE, served=5, position_sum=40, position_count=5),
    ]
    result = report("g-1", rows, JUNE)
    assert result.total.average_position == 6.0
    assert result.daily[0].metrics.average_position == 4.0
    assert result.daily[1].metrics.average_position == 8.0
    assert result.daily[2].metrics.average_position is None


# --- totals -------------------------------------------------------------------------------


def test_totals_are_per_gig_with_clicks_from_click_surfaces_only() -> None:
    rows = [
        row(0, SEARCH, gig="a", served=10, clicks=2),
        row(BUCKET_MS, HOMEPAGE, gig="a", served=5, clicks=5),
        row(0, CATEGORY, gig="b", served=4, viewable=3, clicks=1, views=2),
    ]
    result = totals(rows)
    assert set(result) == {"a", "b"}
    assert as_tuple(result["a"]) == (15, 0, 2, 0)
    assert as_tuple(result["b"]) == (4, 3, 1, 2)
    assert result["a"].ctr == pytest.approx(200 / 15)
    assert totals(rows, frozenset({HOMEPAGE}))["a"].clicks == 5
    assert totals([]) == {}


# --- properties ---------------------------------------------------------------------------

ROWS = st.lists(
    st.builds(
        lambda gig, slot, surface, served, viewable, clicks, views: row(
            JUNE.start + slot * BUCKET_MS,
            surface,
            gig=gig,
            served=served,
            viewable=viewable,
            clicks=clicks,
            views=views,
            position_sum=served * 2,
            position_count=served,
        ),
        st.sampled_from(["g-1", "g-2"]),
        st.integers(-100, 30 * 96 + 100),
        st.sampled_from(Surface),
        st.integers(0, 50),
        st.integers(0, 50),
        st.integers(0, 50),
        st.integers(0, 50),
    ),
    max_size=40,
)


def add(metrics: list[Metrics]) -> Counts:
    out = Counts()
    for m in metrics:
        out.add(Counts(m.served, m.viewable, m.clicks, m.views, m.position_sum, m.position_count))
    return out


@settings(max_examples=150, deadline=None)
@given(ROWS)
def test_days_and_surfaces_add_up_to_the_total(rows: list[RollupRow]) -> None:
    result = report("g-1", rows, JUNE)
    assert add([d.metrics for d in result.daily]) == Counts(*_fields(result.total))
    by_surface = {s.surface: s.metrics for s in result.by_surface}
    everything = add(list(by_surface.values()))
    assert (everything.served, everything.viewable, everything.views) == (
        result.total.served,
        result.total.viewable,
        result.total.views,
    )
    assert sum(by_surface[s].clicks for s in CLICK_SURFACES_DEFAULT) == result.total.clicks
    inside = [r for r in rows if r.gig == "g-1" and JUNE.start <= r.bucket < JUNE.end]
    assert result.total.served == sum(r.counts.served for r in inside)
    assert totals(inside).get("g-1", Metrics()) == result.total


def _fields(m: Metrics) -> tuple[int, ...]:
    return m.served, m.viewable, m.clicks, m.views, m.position_sum, m.position_count


EVENTS = st.lists(
    st.builds(
        lambda n, type_, imp, surface, minute, position: Event(
            id=f"evt-{n:08d}",
            type=type_,
            gig="g-1",
            ts=JUNE.start + minute * MINUTE,
            imp=None if type_ is EventType.VIEW else imp,
            pv=None,
            surface=surface,
            position=position,
        ),
        st.integers(0, 10**8),
        st.sampled_from([EventType.SERVED, EventType.VIEWABLE, EventType.CLICK, EventType.VIEW]),
        st.sampled_from(["i-1", "i-2", "i-3", "i-4", "i-5"]),
        st.sampled_from(Surface),
        st.integers(0, 3 * 24 * 60),
        st.none() | st.integers(1, 40),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(EVENTS, st.sampled_from(["UTC", "Asia/Kathmandu", "America/New_York", "Pacific/Chatham"]))
def test_served_viewable_clicks_invariant_holds_in_the_total_and_every_day(
    events: list[Event], tz_name: str
) -> None:
    _, delta = plan(events, {}, set())
    rows = [RollupRow(k.gig, k.bucket, k.surface, c) for k, c in delta.items()]
    window = range_window(date(2026, 5, 30), date(2026, 6, 5), tz_name, now=ms("2026-06-10T00:00"))
    result = report("g-1", rows, window)
    for m in [result.total, *(d.metrics for d in result.daily)]:
        assert m.served >= m.viewable >= m.clicks
        for value in (m.ctr, m.viewable_ctr, m.viewability_rate):
            assert value is None or 0 <= value <= 100
    assert result.total.served == len({e.imp for e in events if e.type is not EventType.VIEW})
