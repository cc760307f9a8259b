"""SPEC §1 windows: the rolling 30 days, date ranges, and local days in any IANA zone."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.counting.windows import (
    Window,
    days_between,
    local_date,
    local_midnight,
    range_window,
    rolling_window,
    zone,
)
from server.errors import QueryError
from server.model import BUCKET_MS

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

SPEC_ZONES = [
    "UTC",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Santiago",  # midnight skipped by DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "Europe/Berlin",
    "Asia/Tokyo",
    "America/St_Johns",  # -03:30
    "Pacific/Kiritimati",  # +14
    "Pacific/Pago_Pago",  # -11
]

NOT_ZONES = {"localtime", "posixrules", "Factory"}
ALL_ZONES = sorted(available_timezones() - NOT_ZONES)


def ms(iso: str, tz: str = "UTC") -> int:
    """Epoch ms of a local wall time (fold=0)."""
    aware = datetime.fromisoformat(iso).replace(tzinfo=ZoneInfo(tz))
    return int(aware.timestamp() * 1000)


def wall(ts: int, tz: str) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).astimezone(ZoneInfo(tz)).isoformat()


def touched_dates(start: int, end: int, tz: ZoneInfo) -> list[date]:
    """Every local date of `[start, end)`, found the slow way: bucket by bucket."""
    seen = {local_date(ts, tz) for ts in range(start, end, BUCKET_MS)}
    seen.add(local_date(end - 1, tz))
    return sorted(seen)


def assert_well_formed(window: Window, tz: ZoneInfo) -> None:
    """Days tile the window exactly, one per local date, in order."""
    assert window.days, "a window has at least one day"
    assert window.days[0].start == window.start
    assert window.days[-1].end == window.end
    for day in window.days:
        assert day.start < day.end
        assert local_date(day.start, tz) == day.date
        assert local_date(day.end - 1, tz) == day.date
    for before, after in itertools.pairwise(window.days):
        assert before.end == after.start
        assert after.date == before.date + timedelta(days=1)


# --- the rolling window -------------------------------------------------------------------

# Windows that cross no DST change in any SPEC_ZONES zone.
QUIET_NOWS = [ms("2026-01-20T12:34:56.789"), ms("2026-07-15T03:07:00"), ms("2026-02-10T23:59:59")]


@pytest.mark.parametrize("tz_name", SPEC_ZONES)
@pytest.mark.parametrize("now", QUIET_NOWS)
def test_the_rolling_window_has_31_local_days(tz_name: str, now: int) -> None:
    window = rolling_window(now, tz_name)
    assert len(window.days) == 31
    assert_well_formed(window, ZoneInfo(tz_name))


@pytest.mark.parametrize("tz_name", SPEC_ZONES)
def test_the_rolling_window_is_the_last_30_days_aligned_down_to_a_bucket(tz_name: str) -> None:
    now = QUIET_NOWS[0]
    window = rolling_window(now, tz_name)
    assert window.end == now
    assert window.start % BUCKET_MS == 0
    assert now - 30 * DAY - BUCKET_MS < window.start <= now - 30 * DAY


def test_the_rolling_window_defaults_to_utc() -> None:
    now = QUIET_NOWS[0]
    assert rolling_window(now) == rolling_window(now, "UTC") == rolling_window(now, "")
    assert rolling_window(now).days[0].date == date(2025, 12, 21)
    assert rolling_window(now).days[-1].date == date(2026, 1, 20)


def test_a_rolling_window_ending_on_a_bucket_edge_starts_exactly_30_days_before() -> None:
    now = ms("2026-01-20T12:45")
    assert rolling_window(now).start == now - 30 * DAY


def test_the_rolling_window_days_are_the_local_days_of_the_callers_zone() -> None:
    now = ms("2026-01-20T20:00")  # already 2026-01-21 in Kolkata (+05:30)
    window = rolling_window(now, "Asia/Kolkata")
    assert window.days[-1].date == date(2026, 1, 21)
    assert window.days[-1].start == ms("2026-01-21T00:00", "Asia/Kolkata")
    assert window.days[-1].start == ms("2026-01-20T18:30")
    assert window.days[0].date == date(2025, 12, 22)


@pytest.mark.parametrize("days", [1, 7, 30, 90])
def test_the_rolling_window_length_can_be_chosen(days: int) -> None:
    now = QUIET_NOWS[0]
    window = rolling_window(now, "Asia/Kathmandu", days=days)
    assert now - days * DAY - BUCKET_MS < window.start <= now - days * DAY
    assert len(window.days) == days + 1


def test_day_index_finds_the_day_holding_an_instant() -> None:
    window = rolling_window(QUIET_NOWS[0], "Pacific/Chatham")
    for i, day in enumerate(window.days):
        assert window.day_index(day.start) == i
        assert window.day_index(day.end - 1) == i
    assert window.day_index(window.start - 1) is None
    assert window.day_index(window.end) is None


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from([*SPEC_ZONES, "Africa/Cairo", "America/Havana", "Europe/London"]),
    st.integers(ms("2020-02-01T00:00"), ms("2030-12-31T00:00")),
    st.sampled_from([0, 1, 7 * MINUTE, BUCKET_MS, HOUR + 7, None]),
)
def test_the_rolling_window_has_one_day_for_every_local_date_it_touches(
    tz_name: str, now: int, nudge: int | None
) -> None:
    # nudge: land `now` on or just after a local midnight too (None: anywhere).
    tz = ZoneInfo(tz_name)
    if nudge is not None:
        now = local_midnight(local_date(now, tz), tz) + nudge
    window = rolling_window(now, tz_name)
    assert_well_formed(window, tz)
    assert [d.date for d in window.days] == touched_dates(window.start, window.end, tz)
    offsets = {offset(window.start, tz), offset(window.end, tz)}
    at_midnight = now == local_midnight(local_date(now, tz), tz)
    if len(offsets) == 1 and not at_midnight:
        # SPEC: "so 31 for the default window" -- whenever no clock change falls inside.
        assert len(window.days) == 31


def offset(ts: int, tz: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(ts / 1000, UTC).astimezone(tz).utcoffset()


# --- every local midnight is a bucket edge ------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(ALL_ZONES), st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_every_local_midnight_since_2020_is_a_15_minute_bucket_edge(
    tz_name: str, day: date
) -> None:
    tz = ZoneInfo(tz_name)
    start = local_midnight(day, tz)
    assert start % BUCKET_MS == 0
    assert local_date(start, tz) == day
    assert local_date(start - 1, tz) == day - timedelta(days=1)


@pytest.mark.parametrize(
    ("tz_name", "day", "utc_start"),
    [
        ("UTC", "2026-03-10", "2026-03-10T00:00"),
        ("Asia/Kolkata", "2026-03-10", "2026-03-09T18:30"),
        ("Asia/Kathmandu", "2026-03-10", "2026-03-09T18:15"),
        ("Pacific/Chatham", "2026-01-20", "2026-01-19T10:15"),  # +13:45 in summer
        ("Pacific/Chatham", "2026-07-20", "2026-07-19T11:15"),  # +12:45 in winter
        ("Australia/Lord_Howe", "2026-01-20", "2026-01-19T13:00"),  # +11
        ("Australia/Lord_Howe", "2026-07-20", "2026-07-19T13:30"),  # +10:30
        ("America/St_Johns", "2026-01-20", "2026-01-20T03:30"),
        ("America/New_York", "2026-03-08", "2026-03-08T05:00"),
        ("America/New_York", "2026-03-09", "2026-03-09T04:00"),
    ],
)
def test_local_midnight_table(tz_name: str, day: str, utc_start: str) -> None:
    assert local_midnight(date.fromisoformat(day), ZoneInfo(tz_name)) == ms(utc_start)


# --- DST ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz_name", "day", "hours"),
    [
        ("America/New_York", "2026-03-08", 23),
        ("America/New_York", "2026-03-09", 24),
        ("America/New_York", "2026-11-01", 25),
        ("Australia/Lord_Howe", "2026-10-04", 23.5),
        ("Australia/Lord_Howe", "2026-04-05", 24.5),
        ("Pacific/Chatham", "2026-09-27", 23),
        ("Pacific/Chatham", "2026-04-05", 25),
        ("America/Santiago", "2026-09-06", 23),
        ("America/Santiago", "2026-04-04", 25),
        ("Europe/Berlin", "2026-03-29", 23),
        ("Europe/Berlin", "2026-10-25", 25),
        ("Asia/Kolkata", "2026-03-29", 24),
    ],
)
def test_dst_days_are_as_long_as_they_really_are(tz_name: str, day: str, hours: float) -> None:
    d = date.fromisoformat(day)
    (only,) = days_between(d, d, ZoneInfo(tz_name))
    assert only.end - only.start == hours * HOUR


def test_a_range_across_both_new_york_dst_changes_is_exact() -> None:
    window = range_window(
        date(2026, 3, 1), date(2026, 11, 30), "America/New_York", now=ms("2026-12-01T12:00")
    )
    assert len(window.days) == 275
    assert window.end - window.start == 275 * DAY  # one 23 h and one 25 h day
    assert_well_formed(window, ZoneInfo("America/New_York"))


def test_a_midnight_skipped_by_dst_starts_the_day_at_the_jump() -> None:
    # Chile springs forward at 24:00 on Saturday: 2026-09-06 00:00 never shows on a clock.
    tz = ZoneInfo("America/Santiago")
    day = date(2026, 9, 6)
    jump = ms("2026-09-06T04:00")  # 00:00 at -04 == 01:00 at -03
    assert wall(jump - 1, "America/Santiago").startswith("2026-09-05T23:59:59.999")
    assert wall(jump, "America/Santiago") == "2026-09-06T01:00:00-03:00"
    start = local_midnight(day, tz)
    assert start == jump
    assert local_date(start, tz) == day
    assert local_date(start - 1, tz) == date(2026, 9, 5)
    (previous, skipped) = days_between(date(2026, 9, 5), day, tz)
    assert previous.end == skipped.start == jump


def skipped_midnights(tz_name: str) -> list[date]:
    tz = ZoneInfo(tz_name)
    found = []
    for n in range((date(2031, 1, 1) - date(2020, 1, 1)).days):
        day = date(2020, 1, 1) + timedelta(days=n)
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        if midnight.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != midnight.replace(
            tzinfo=None
        ):
            found.append(day)
    return found


@pytest.mark.parametrize("tz_name", ["America/Santiago", "America/Havana", "Africa/Cairo"])
def test_every_skipped_midnight_since_2020_starts_its_day_at_the_jump(tz_name: str) -> None:
    tz = ZoneInfo(tz_name)
    days = skipped_midnights(tz_name)
    assert len(days) >= 8, "these zones skip midnight every spring"
    for day in days:
        start = local_midnight(day, tz)
        assert local_date(start, tz) == day
        assert local_date(start - 1, tz) == day - timedelta(days=1)
        assert offset(start, tz) != offset(start - 1, tz)  # the day starts at the jump
        assert "T00:00" not in wall(start, tz_name)
        assert (local_midnight(day + timedelta(days=1), tz) - start) == 23 * HOUR


def test_a_midnight_that_happens_twice_starts_the_day_at_the_first() -> None:
    # Cuba falls back at 01:00 to 00:00: 2026-11-01 00:00-00:59 happens twice.
    tz = ZoneInfo("America/Havana")
    start = local_midnight(date(2026, 11, 1), tz)
    assert local_date(start - 1, tz) == date(2026, 10, 31)
    (day,) = days_between(date(2026, 11, 1), date(2026, 11, 1), tz)
    assert day.end - day.start == 25 * HOUR


# --- range_window -------------------------------------------------------------------------

NOW = ms("2026-06-15T09:00")


@pytest.mark.parametrize(
    ("first", "last", "count"),
    [
        ("2026-06-15", "2026-06-15", 1),
        ("2026-06-01", "2026-06-14", 14),
        ("2026-05-01", "2026-05-31", 31),
        ("2026-03-17", "2026-06-14", 90),
        ("2025-05-11", "2026-06-14", 400),
    ],
)
def test_a_range_is_whole_local_days_both_ends_included(first: str, last: str, count: int) -> None:
    f, t = date.fromisoformat(first), date.fromisoformat(last)
    for tz_name in ("UTC", "Asia/Kathmandu", "America/New_York"):
        tz = ZoneInfo(tz_name)
        window = range_window(f, t, tz_name, now=NOW)
        assert len(window.days) == count
        assert window.days[0].date == f
        assert window.days[-1].date == t
        assert window.start == local_midnight(f, tz)
        assert window.end == local_midnight(t + timedelta(days=1), tz)
        assert_well_formed(window, tz)


def test_a_range_from_after_to_is_an_error_naming_both_days() -> None:
    with pytest.raises(QueryError) as caught:
        range_window(date(2026, 6, 2), date(2026, 6, 1), "UTC", now=NOW)
    assert "2026-06-02" in str(caught.value)
    assert "2026-06-01" in str(caught.value)


def test_a_range_over_400_days_is_an_error() -> None:
    with pytest.raises(QueryError, match="401 days"):
        range_window(date(2025, 6, 10), date(2026, 7, 15), "UTC", now=NOW)


@pytest.mark.parametrize(
    ("retention", "age", "ok"),
    [(90, 90, True), (90, 91, False), (400, 400, True), (400, 401, False), (7, 8, False)],
)
def test_a_range_older_than_retention_is_an_error(retention: int, age: int, ok: bool) -> None:
    today = date(2026, 6, 15)
    first = today - timedelta(days=age)
    call = functools.partial(range_window, first, first, "UTC", now=NOW, retention_days=retention)
    if ok:
        assert call().days[0].date == first
    else:
        with pytest.raises(QueryError) as caught:
            call()
        oldest = today - timedelta(days=retention)
        assert oldest.isoformat() in str(caught.value)
        assert first.isoformat() in str(caught.value)


def test_the_last_90_days_are_always_available_by_default() -> None:
    today = local_date(NOW, ZoneInfo("Pacific/Kiritimati"))
    window = range_window(today - timedelta(days=90), today, "Pacific/Kiritimati", now=NOW)
    assert len(window.days) == 91


def test_retention_is_counted_in_the_callers_local_days() -> None:
    # 2026-06-15T09:00Z is 2026-06-15 23:00 in Kiritimati (+14) but 06-14 22:00 in Pago Pago.
    first = date(2026, 6, 14) - timedelta(days=90)
    range_window(first, first, "Pacific/Pago_Pago", now=NOW, retention_days=90)
    with pytest.raises(QueryError):
        range_window(first, first, "Pacific/Kiritimati", now=NOW, retention_days=90)


# --- zones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Olympus_Mons",
        "Europe/Berln",
        "utc",
        "UTC+5",
        "+05:30",
        "IST",
        "localtime",
        "Factory",
        "Europe",
        "America/",
        "../../etc/passwd",
        "/etc/localtime",
        "/usr/share/zoneinfo/UTC",
        "UTC\x00",
        "Asia/Kolkata ",
        "x" * 1000,
    ],
)
def test_an_unknown_zone_is_an_error_that_names_it(name: str) -> None:
    with pytest.raises(QueryError) as caught:
        zone(name)
    assert repr(name) in str(caught.value)
    assert "IANA" in str(caught.value)
    for call in (
        lambda: rolling_window(NOW, name),
        lambda: range_window(date(2026, 6, 1), date(2026, 6, 2), name, now=NOW),
    ):
        with pytest.raises(QueryError, match="IANA"):
            call()


@pytest.mark.parametrize(
    "name", ["UTC", "GMT", "Etc/UTC", "Japan", "Singapore", "EST", "Asia/Calcutta", *SPEC_ZONES]
)
def test_iana_names_with_and_without_a_slash_are_zones(name: str) -> None:
    assert zone(name) == ZoneInfo(name)


def test_no_zone_means_utc() -> None:
    assert zone(None) == zone("") == ZoneInfo("UTC")


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(ALL_ZONES))
def test_every_available_iana_zone_is_accepted(name: str) -> None:
    assert zone(name).key == name


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(ALL_ZONES),
    st.dates(date(2020, 1, 1), date(2030, 12, 1)),
    st.integers(0, 40),
)
def test_any_range_in_any_zone_tiles_its_days(tz_name: str, first: date, extra: int) -> None:
    last = first + timedelta(days=extra)
    now = ms(f"{(last + timedelta(days=2)).isoformat()}T00:00")
    window = range_window(first, last, tz_name, now=now)
    assert len(window.days) == extra + 1
    assert_well_formed(window, ZoneInfo(tz_name))
