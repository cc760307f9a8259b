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
    position_sum, position_count)}, leaving out rows that are all zero."""
    found: dict[Row, tuple[int, ...]] = {}
    for row in await store.rollups(list(gigs), start, end):
        c = row.counts
        values = (c.served, c.viewable, c.clicks, c.views, c.position_sum, c.position_count)
        if any(values):
            assert (row.gig, row.bucket, row.surface) not in found, "one row per key"
            found[(row.gig, row.bucket, row.surface)] = values
    return found


async def total(store: Store, gig: str = "g-1") -> Counts:
    """All of a gig's counters summed over every bucket and surface."""
    counts = Counts()
    for row in await store.rollups([gig], 0, FAR):
        counts.add(row.counts)
    return counts


def click_row_surface(click_event: Event, shown_on: Surface) -> Surface:
    """The surface a first click is filed under when its tile was shown on `shown_on`.

    That choice (the click's own surface or the tile's) is the pure core's to make and
    tests/unit pin it; store tests ask `transitions` rather than hard-code either answer.
    """
    state = ImpressionState(bucket_of(click_event.ts), shown_on, viewable=True)
    _, delta = apply_to_impression(state, click_event)
    (key,) = [key for key, counts in delta.items() if counts.clicks]
    return key.surface
