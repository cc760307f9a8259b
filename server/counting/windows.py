"""Pure time arithmetic: the rolling 30-day window, date ranges, and local days in any zone.

Every IANA zone's midnight is a multiple of 15 minutes away from UTC midnight, so local days
are always whole runs of the store's 15-minute buckets; that is what makes daily series exact
in Asia/Kolkata (+05:30), Asia/Kathmandu (+05:45) and across DST changes.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..errors import QueryError
from ..model import DAY_MS, bucket_of

ROLLING_DAYS = 30
MAX_RANGE_DAYS = 400


@dataclass(frozen=True, slots=True)
class Day:
    """One local calendar day and the instants it covers, `[start, end)` in epoch ms."""

    date: date
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Window:
    """A query window `[start, end)` in epoch ms and the local days it touches."""

    start: int
    end: int
    days: tuple[Day, ...]
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(d.start for d in self.days))

    def day_index(self, ts: int) -> int | None:
        """Index into `days` of the day holding `ts`, or None outside the window."""
        if not self.start <= ts < self.end:
            return None
        return bisect.bisect_right(self._starts, ts) - 1

    @property
    def day_starts(self) -> list[int]:
        """The first instant of each day, in order."""
        return list(self._starts)


# Files in a zoneinfo directory that are not IANA zones.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def _iana_names() -> frozenset[str]:
    # Names without a slash ("Japan", "EST", "Singapore") are real IANA zones too.
    return frozenset(available_timezones())


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone called `name` (default UTC); a clear error for unknown names."""
    if name is None or name == "":
        return ZoneInfo("UTC")
    try:
        if name in _NOT_ZONES or ("/" not in name and name not in _iana_names()):
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise QueryError(
            f"timeZone {name!r} is not an IANA time zone name: use one like "
            "'UTC', 'Europe/Berlin', 'Asia/Kolkata' or 'America/New_York'."
        ) from None


def local_midnight(day: date, tz: ZoneInfo) -> int:
    """The first instant (epoch ms) of local `day` in `tz`, also when midnight is skipped."""
    # fold=0 maps a skipped midnight (DST gap) to the instant the clocks jump, which is
    # exactly when that day begins.
    aware = datetime.combine(day, time(0), tzinfo=tz)
    return int(aware.astimezone(UTC).timestamp() * 1000)


def local_date(ts: int, tz: ZoneInfo) -> date:
    """The local calendar date of instant `ts` in `tz`."""
    return datetime.fromtimestamp(ts / 1000, tz=UTC).astimezone(tz).date()


# Every query cuts the same few days of a zone: the rolling window's days change once per
# local day, and each day costs two ZoneInfo conversions.
@functools.lru_cache(maxsize=512)
def days_between(first: date, last: date, tz: ZoneInfo) -> tuple[Day, ...]:
    """Every local day from `first` to `last`, inclusive, with its instants."""
    days = []
    current = first
    start = local_midnight(current, tz)
    while current <= last:
        following = current + timedelta(days=1)
        end = local_midnight(following, tz)
        days.append(Day(current, start, end))
        current, start = following, end
    return tuple(days)


def rolling_window(now: int, tz_name: str | None = None, days: int = ROLLING_DAYS) -> Window:
    """The last `days` days up to `now`, its start aligned down to a bucket edge."""
    tz = zone(tz_name)
    start = bucket_of(now - days * DAY_MS)
    end = now
    local_days = days_between(local_date(start, tz), local_date(end - 1, tz), tz)
    clipped = tuple(
        Day(d.date, max(d.start, start), min(d.end, end)) for d in local_days
    )
    return Window(start, end, clipped)


def range_window(
    first: date,
    last: date,
    tz_name: str | None,
    *,
    now: int,
    retention_days: int = MAX_RANGE_DAYS,
) -> Window:
    """Whole local days `first`..`last` (inclusive) in the caller's zone."""
    tz = zone(tz_name)
    if first > last:
        raise QueryError(
            f"range.from {first.isoformat()} is after range.to {last.isoformat()}: "
            "swap them (both days are included)."
        )
    length = (last - first).days + 1
    if length > MAX_RANGE_DAYS:
        raise QueryError(
            f"the range covers {length} days; at most {MAX_RANGE_DAYS} can be asked at once."
        )
    today = local_date(now, tz)
    if last > today:
        raise QueryError(
            f"range.to {last.isoformat()} is after today ({today.isoformat()} in {tz.key}): "
            "end the range today or earlier."
        )
    if (today - first).days > retention_days:
        oldest = today - timedelta(days=retention_days)
        raise QueryError(
            f"range.from {first.isoformat()} is older than the {retention_days} days kept: "
            f"start on {oldest.isoformat()} or later."
        )
    local_days = days_between(first, last, tz)
    return Window(local_days[0].start, local_days[-1].end, local_days)


def previous_window(
    window: Window, tz_name: str | None, *, now: int, retention_days: int = MAX_RANGE_DAYS
) -> Window | None:
    """The window of equal length that ends where `window` starts, or None when it would
    reach past the `retention_days` of rollups kept.

    A range of whole local days gives the same number of whole days before it (a DST change
    may make it an hour longer or shorter); any other window, the same milliseconds.
    """
    tz = zone(tz_name)
    first, last = window.days[0].date, window.days[-1].date
    whole_days = window.start == local_midnight(first, tz) and window.end == local_midnight(
        last + timedelta(days=1), tz
    )
    if whole_days:
        count = (last - first).days + 1
        local_days = days_between(first - timedelta(days=count), first - timedelta(days=1), tz)
        previous = Window(local_days[0].start, local_days[-1].end, local_days)
    else:
        start, end = window.start - (window.end - window.start), window.start
        local_days = days_between(local_date(start, tz), local_date(end - 1, tz), tz)
        clipped = tuple(Day(d.date, max(d.start, start), min(d.end, end)) for d in local_days)
        previous = Window(start, end, clipped)
    oldest = local_date(now, tz) - timedelta(days=retention_days)
    if previous.days[0].date < oldest:
        return None
    return previous
