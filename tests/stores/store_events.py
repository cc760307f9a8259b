"""Small builders of events for the store tests, and a reading helper."""

from __future__ import annotations

import itertools
from typing import Any

from server.counting.rules import ImpressionState, apply_to_impression
from server.model import BUCKET_MS, Counts, Event, EventType, Surface, bucket_of
from server.stores import Store

T0 = bucket_of(1_763_800_000_000)
B = BUCKET_MS
FAR = T0 + 10_000 * B
FANOUT = 16

_ids = itertools.count()


def event(kind: EventType, gig: str = "g-1", **fields: Any) -> Event:
    """An event with a fresh id unless one is given; `ts` defaults to T0."""
    fields.setdefault("id", f"ev-{next(_ids):08d}")
    fields.setdefault("ts", T0)
    return Event(type=kind, gig=gig, **fields)


def served(imp: str, surface: Surface = Surface.SEARCH, **fields: Any) -> Event:
    return event(EventType.SERVED, imp=imp, surface=surface, **fields)


def viewable(imp: str, **fields: Any) -> Event:
    return event(EventType.VIEWABLE, imp=imp, **fields)


def click(imp: str, surface: Surface = Surface.SEARCH, **fields: Any) -> Event:
    return event(EventType.CLICK, imp=imp, surface=surface, **fields)


def view(pv: str | None, **fields: Any) -> Event:
    return event(EventType.VIEW, pv=pv, **fields)


Row = tuple[str, int, Surface]


async def rows(
    store: Store, gigs: tuple[str, ...] = ("g-1",), start: int = 0, end: int = FAR
) -> dict[Row, tuple[int, ...]]:
    """Stored rollup rows as {(gig, bucket, surface): (served, viewable, clicks, views,
    position_sum, position_count)}, leaving out rows that are all zero.

    Read through `span_totals` alone: a span with counts is cut into at most FANOUT smaller
    ones, down to spans of one bucket (which read only the 15-minute rollups). One read per
    span, each with few edges: the MongoDB leg sums each document's span by a `$switch`."""
    found: dict[Row, tuple[int, ...]] = {}
    spans = [(start, end)]
    while spans:
        lo, hi = spans.pop()
        step = B
        while hi - lo > FANOUT * step:
            step *= FANOUT
        # Inner edges on the bucket grid: a one-bucket span's start is its bucket.
        edges = [lo, *range((lo // step + 1) * step, hi, step), hi]
        busy: set[int] = set()
        for row in await store.span_totals(list(gigs), edges):
            c = row.counts
            values = (c.served, c.viewable, c.clicks, c.views, c.position_sum, c.position_count)
            if not any(values):
                continue
            if step > B:
                busy.add(row.bucket)
                continue
            assert (row.gig, row.bucket, row.surface) not in found, "one row per key"
            found[(row.gig, row.bucket, row.surface)] = values
        ends = dict(itertools.pairwise(edges))
        spans += [(at, ends[at]) for at in sorted(busy)]
    return found


async def total(store: Store, gig: str = "g-1") -> Counts:
    """All of a gig's counters summed over every bucket and surface."""
    counts = Counts()
    for row in await store.surface_totals([gig], 0, FAR):
        counts.add(row.counts)
    return counts


def click_row_surface(click_event: Event, shown_on: Surface) -> Surface:
    """The surface a first click is filed under when its tile was shown on `shown_on`.

    That choice (the click's own surface or the tile's) is the pure core's to make and
    tests/unit pin it; store tests ask `counting.rules` rather than hard-code either answer.
    """
    state = ImpressionState(bucket_of(click_event.ts), shown_on, viewable=True)
    _, delta = apply_to_impression(state, click_event)
    (key,) = [key for key, counts in delta.items() if counts.clicks]
    return key.surface
