"""Pure metric arithmetic: rollup rows in, totals, daily series and per-surface figures out;
the sort keys of rankings."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from operator import attrgetter
from typing import Any

from ..model import CLICK_SURFACES_DEFAULT, Counts, Surface
from .rules import OTHER_CONTEXT
from .windows import Window


@dataclass(frozen=True, slots=True)
class RollupRow:
    """One stored rollup row: a gig's counters for one 15-minute bucket and one surface."""

    gig: str
    bucket: int
    surface: Surface
    counts: Counts


@dataclass(frozen=True, slots=True)
class ContextRow:
    """A gig's context rollups summed over a window, for one surface and one context."""

    gig: str
    surface: Surface
    context: str
    counts: Counts


def rate(numerator: int, denominator: int) -> float | None:
    """`numerator / denominator * 100`, or None when there is nothing to divide by."""
    if denominator <= 0:
        return None
    return numerator * 100.0 / denominator


@dataclass(frozen=True, slots=True)
class Metrics:
    """The counts and rates of one gig over some stretch of time (or one surface of it)."""

    served: int = 0
    viewable: int = 0
    clicks: int = 0
    views: int = 0
    position_sum: int = 0
    position_count: int = 0
    orders: int = 0

    @property
    def conversion_rate(self) -> float | None:
        """Orders per 100 visits (clicks and views)."""
        return rate(self.orders, self.clicks + self.views)

    @property
    def ctr(self) -> float | None:
        """Clicks per 100 served impressions."""
        return rate(self.clicks, self.served)

    @property
    def viewable_ctr(self) -> float | None:
        """Clicks per 100 viewable impressions."""
        return rate(self.clicks, self.viewable)

    @property
    def viewability_rate(self) -> float | None:
        """Viewable impressions per 100 served."""
        return rate(self.viewable, self.served)

    @property
    def average_position(self) -> float | None:
        """Mean 1-based tile position over the impressions that carried one."""
        if self.position_count == 0:
            return None
        return self.position_sum / self.position_count

    @classmethod
    def of(cls, counts: Counts) -> Metrics:
        """Freeze a set of counters."""
        return cls(
            counts.served,
            counts.viewable,
            counts.clicks,
            counts.views,
            counts.position_sum,
            counts.position_count,
            counts.orders,
        )


@dataclass(frozen=True, slots=True)
class DayFigures:
    """A gig's metrics on one local day."""

    date: date
    metrics: Metrics


@dataclass(frozen=True, slots=True)
class SurfaceFigures:
    """A gig's metrics on one surface; `clicks` here are all clicks made on that surface."""

    surface: Surface
    metrics: Metrics


@dataclass(frozen=True, slots=True)
class ContextFigures:
    """Metrics of the impressions one search or category (`context`) on one surface showed;
    `clicks` are every click made there, as in `SurfaceFigures`."""

    surface: Surface
    context: str
    metrics: Metrics

    @property
    def is_other(self) -> bool:
        """True for the row summing contexts past the per-day bound."""
        return self.context == OTHER_CONTEXT


@dataclass(frozen=True, slots=True)
class GigReport:
    """Everything the API says about one gig over one window."""

    gig: str
    total: Metrics
    daily: tuple[DayFigures, ...]
    by_surface: tuple[SurfaceFigures, ...]


def counted_clicks(counts: Counts, surface: Surface, click_surfaces: frozenset[Surface]) -> Counts:
    """The counters with clicks kept only when `surface` is a click surface."""
    if surface in click_surfaces:
        return counts
    return Counts(
        counts.served,
        counts.viewable,
        0,
        counts.views,
        counts.position_sum,
        counts.position_count,
        counts.orders,
    )


def report(
    gig: str,
    rows: Iterable[RollupRow],
    window: Window,
    click_surfaces: frozenset[Surface] = CLICK_SURFACES_DEFAULT,
) -> GigReport:
    """Sum a gig's rollup rows into totals, a zero-filled daily series and per-surface figures."""
    total = Counts()
    daily = [Counts() for _ in window.days]
    surfaces = {surface: Counts() for surface in Surface}
    for row in rows:
        if row.gig != gig:
            continue
        index = window.day_index(row.bucket)
        if index is None:
            continue
        counted = counted_clicks(row.counts, row.surface, click_surfaces)
        total.add(counted)
        daily[index].add(counted)
        surfaces[row.surface].add(row.counts)
    return GigReport(
        gig=gig,
        total=Metrics.of(total),
        daily=tuple(
            DayFigures(day.date, Metrics.of(counts))
            for day, counts in zip(window.days, daily, strict=True)
        ),
        by_surface=tuple(
            SurfaceFigures(surface, Metrics.of(counts)) for surface, counts in surfaces.items()
        ),
    )


def totals(
    rows: Iterable[RollupRow],
    click_surfaces: frozenset[Surface] = CLICK_SURFACES_DEFAULT,
) -> dict[str, Metrics]:
    """Per-gig totals of rows already restricted to a window (for rankings)."""
    sums: dict[str, Counts] = {}
    for row in rows:
        sums.setdefault(row.gig, Counts()).add(
            counted_clicks(row.counts, row.surface, click_surfaces)
        )
    return {gig: Metrics.of(counts) for gig, counts in sums.items()}


def sum_spans(rows: Iterable[RollupRow], edges: Sequence[int]) -> list[RollupRow]:
    """Rows summed per (gig, span, surface) for spans `[edges[i], edges[i+1])`; rows outside
    every span are dropped and a summed row's bucket is its span's start."""
    sums: dict[tuple[str, int, Surface], Counts] = {}
    if len(edges) < 2:
        return []
    first, last = edges[0], edges[-1]
    for row in rows:
        if not first <= row.bucket < last:
            continue
        start = edges[bisect.bisect_right(edges, row.bucket) - 1]
        sums.setdefault((row.gig, start, row.surface), Counts()).add(row.counts)
    return [RollupRow(gig, at, surface, counts) for (gig, at, surface), counts in sums.items()]


def by_context(
    rows: Iterable[ContextRow], first: int, surface: Surface | None = None
) -> list[ContextFigures]:
    """The `first` largest contexts by served impressions (then clicks, surface, context),
    optionally of one surface; rows of one (surface, context) are summed."""
    sums: dict[tuple[Surface, str], Counts] = {}
    for row in rows:
        if surface is None or row.surface is surface:
            sums.setdefault((row.surface, row.context), Counts()).add(row.counts)
    found = [
        ContextFigures(where, context, Metrics.of(counts))
        for (where, context), counts in sums.items()
        if counts.served > 0
    ]
    found.sort(key=lambda c: (-c.metrics.served, -c.metrics.clicks, c.surface.value, c.context))
    return found[: max(first, 0)]


def combined(rows: Iterable[RollupRow], name: str) -> list[RollupRow]:
    """Rows of several gigs relabelled as one gig `name`, so `report` sums them all."""
    return [RollupRow(name, row.bucket, row.surface, row.counts) for row in rows]


class Order(Enum):
    """What a ranking of gigs sorts by (largest first)."""

    CLICKS = "clicks"
    CTR = "ctr"
    SERVED_IMPRESSIONS = "served"
    VIEWABLE_IMPRESSIONS = "viewable"
    VIEWS = "views"
    VIEWABLE_CTR = "viewable_ctr"
    VIEWABILITY_RATE = "viewability_rate"
    AVERAGE_POSITION = "average_position"


RankKey = tuple[Any, ...]

_RATE_PARTS = {
    Order.CTR: ("clicks", "served"),
    Order.VIEWABLE_CTR: ("clicks", "viewable"),
    Order.VIEWABILITY_RATE: ("viewable", "served"),
}


def rank_keys(order: Order) -> Callable[[str, Metrics], RankKey]:
    """The sort key of a gig in a ranking by `order`: the order's value descending, nulls
    last, then clicks descending, then gig id ascending; average position is best (smallest)
    first. Built once per ranking, so no key looks the order's field up again per gig (a
    ranking of 100,000 gigs spent most of its time doing that)."""
    if order in _RATE_PARTS:
        numerator, denominator = (attrgetter(name) for name in _RATE_PARTS[order])

        def rate_key(gig: str, m: Metrics) -> RankKey:
            below = denominator(m)
            if below <= 0:
                return (True, -0.0, -m.clicks, gig)
            return (False, -(numerator(m) * 100.0 / below), -m.clicks, gig)

        return rate_key
    if order is Order.AVERAGE_POSITION:

        def position_key(gig: str, m: Metrics) -> RankKey:
            if m.position_count == 0:
                return (True, 0.0, -m.clicks, gig)
            return (False, m.position_sum / m.position_count, -m.clicks, gig)

        return position_key
    value = attrgetter(order.value)
    return lambda gig, m: (-value(m), -m.clicks, gig)
