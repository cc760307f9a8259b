"""Context rollups (byContext) and previous periods: the pure core, by tables."""

from __future__ import annotations

import itertools
from datetime import date

from server.counting.metrics import ContextRow, by_context
from server.counting.rules import (
    OTHER_CONTEXT,
    ContextDelta,
    ContextKey,
    ImpressionState,
    bound_contexts,
    context_delta,
    plan,
)
from server.counting.windows import previous_window, range_window, rolling_window
from server.model import BUCKET_MS, DAY_MS, Counts, Event, EventType, Surface

T0 = 1_763_799_300_000  # a bucket edge
SERVED, VIEWABLE, CLICK, VIEW = (
    EventType.SERVED, EventType.VIEWABLE, EventType.CLICK, EventType.VIEW
)
SEARCH, CATEGORY, HOMEPAGE, USER_PAGE, OTHER = Surface
_ids = itertools.count()


def event(type_: EventType, imp: str = "i-1", **fields: object) -> Event:
    fields.setdefault("ts", T0)
    return Event(id=f"e-{next(_ids):06d}", type=type_, gig="g-1", imp=imp, **fields)  # type: ignore[arg-type]


def planned(*events: Event) -> ContextDelta:
    contexts: ContextDelta = {}
    impressions: dict[str, ImpressionState] = {}
    plan(events, impressions, set(), contexts)
    return contexts


def values(delta: ContextDelta) -> dict[tuple[Surface, str], tuple[int, ...]]:
    return {
        (k.surface, k.context): (c.served, c.viewable, c.clicks, c.position_sum, c.position_count)
        for k, c in delta.items()
    }


def test_an_impression_counts_under_the_context_of_its_listing() -> None:
    found = planned(
        event(SERVED, surface=SEARCH, context="logo design", position=3),
        event(VIEWABLE, ts=T0 + 1_000),
        event(CLICK, surface=SEARCH, ts=T0 + 2_000),
    )
    assert values(found) == {(SEARCH, "logo design"): (1, 1, 1, 3, 1)}


def test_a_click_counts_under_the_context_of_the_listing_that_showed_it() -> None:
    found = planned(
        event(SERVED, surface=CATEGORY, context="logo-design"),
        event(CLICK, surface=CATEGORY, context="something else", ts=T0 + 5 * BUCKET_MS),
    )
    assert values(found) == {(CATEGORY, "logo-design"): (1, 1, 1, 0, 0)}
    assert {k.bucket for k in found} == {T0}


def test_listings_without_a_context_are_not_in_the_context_rollups() -> None:
    assert planned(event(SERVED, surface=HOMEPAGE), event(CLICK, surface=HOMEPAGE)) == {}


def test_a_viewable_before_its_served_joins_the_context_once_it_is_named() -> None:
    found = planned(
        event(VIEWABLE),
        event(SERVED, surface=SEARCH, context="logo", position=2, ts=T0 + 1_000),
    )
    assert values(found) == {(SEARCH, "logo"): (1, 1, 0, 2, 1)}


def test_a_late_surface_moves_the_context_row_too() -> None:
    before = ImpressionState(T0, OTHER, viewable=True, surface_known=False, context="logo")
    after = before._replace(surface=SEARCH, surface_known=True)
    assert values(context_delta("g-1", before, after)) == {
        (OTHER, "logo"): (-1, -1, 0, 0, 0),
        (SEARCH, "logo"): (1, 1, 0, 0, 0),
    }


def test_duplicates_of_a_transition_add_nothing() -> None:
    first = event(SERVED, surface=SEARCH, context="logo")
    contexts: ContextDelta = {}
    impressions: dict[str, ImpressionState] = {}
    plan([first], impressions, set(), contexts)
    again: ContextDelta = {}
    plan([event(SERVED, surface=SEARCH, context="logo")], impressions, set(), again)
    assert again == {}


def key(context: str, bucket: int = T0, surface: Surface = SEARCH) -> ContextKey:
    return ContextKey("g-1", bucket, surface, context)


def test_contexts_past_the_bound_of_a_day_are_summed_as_other() -> None:
    delta = {key(f"q{n}"): Counts(served=1) for n in range(5)}
    kept: dict[tuple[str, int], set[str]] = {}
    bounded, admitted = bound_contexts(delta, kept, limit=3)
    assert values(bounded) == {
        (SEARCH, "q0"): (1, 0, 0, 0, 0),
        (SEARCH, "q1"): (1, 0, 0, 0, 0),
        (SEARCH, "q2"): (1, 0, 0, 0, 0),
        (SEARCH, OTHER_CONTEXT): (2, 0, 0, 0, 0),
    }
    day = T0 // DAY_MS
    assert admitted == {("g-1", day, "q0"), ("g-1", day, "q1"), ("g-1", day, "q2")}
    # Later that day: kept contexts keep their rows, new ones go to other.
    more = {key("q1"): Counts(served=1), key("q9"): Counts(served=1)}
    bounded, admitted = bound_contexts(more, kept, limit=3)
    assert values(bounded) == {
        (SEARCH, "q1"): (1, 0, 0, 0, 0), (SEARCH, OTHER_CONTEXT): (1, 0, 0, 0, 0)
    }
    assert admitted == set()


def test_the_bound_starts_again_each_utc_day() -> None:
    kept = {("g-1", T0 // DAY_MS): {"a", "b"}}
    bounded, admitted = bound_contexts({key("c", T0 + DAY_MS): Counts(served=1)}, kept, limit=2)
    assert values(bounded) == {(SEARCH, "c"): (1, 0, 0, 0, 0)}
    assert admitted == {("g-1", (T0 + DAY_MS) // DAY_MS, "c")}


def test_by_context_sums_a_context_and_puts_the_largest_first() -> None:
    rows = [
        ContextRow("g-1", SEARCH, "logo", Counts(served=3, viewable=2, clicks=1)),
        ContextRow("g-2", SEARCH, "logo", Counts(served=2, clicks=1)),
        ContextRow("g-1", CATEGORY, "logo-design", Counts(served=9, position_sum=18,
                                                          position_count=9)),
        ContextRow("g-1", SEARCH, "rare", Counts(served=1)),
        ContextRow("g-1", SEARCH, "moved away", Counts()),
    ]
    found = by_context(rows, first=10)
    assert [(c.surface, c.context, c.metrics.served) for c in found] == [
        (CATEGORY, "logo-design", 9), (SEARCH, "logo", 5), (SEARCH, "rare", 1)
    ]
    assert found[0].metrics.average_position == 2.0
    assert found[1].metrics.ctr == 40.0
    assert [c.context for c in by_context(rows, first=1)] == ["logo-design"]
    assert [c.context for c in by_context(rows, first=10, surface=SEARCH)] == ["logo", "rare"]


NOW = 1_781_514_000_000  # 2026-06-15T09:00Z


def test_the_previous_period_of_the_rolling_window_is_the_30_days_before_it() -> None:
    window = rolling_window(NOW, "Asia/Kolkata")
    previous = previous_window(window, "Asia/Kolkata", now=NOW)
    assert previous is not None
    assert previous.end == window.start
    assert previous.end - previous.start == window.end - window.start
    assert previous.days[0].start == previous.start and previous.days[-1].end == previous.end


def test_the_previous_period_of_a_range_is_as_many_whole_days_before_it() -> None:
    window = range_window(date(2026, 3, 1), date(2026, 3, 14), "America/New_York", now=NOW)
    previous = previous_window(window, "America/New_York", now=NOW)
    assert previous is not None
    assert [d.date for d in previous.days][::13] == [date(2026, 2, 15), date(2026, 2, 28)]
    assert len(previous.days) == 14 and previous.end == window.start


def test_a_previous_period_across_a_dst_change_keeps_whole_days() -> None:
    # 2026-03-08 is 23 hours long in New York: the previous week is an hour shorter.
    window = range_window(date(2026, 3, 15), date(2026, 3, 21), "America/New_York", now=NOW)
    previous = previous_window(window, "America/New_York", now=NOW)
    assert previous is not None
    assert previous.end - previous.start == 7 * DAY_MS - 3_600_000


def test_there_is_no_previous_period_past_the_rollups_kept() -> None:
    window = range_window(date(2026, 1, 1), date(2026, 3, 31), "UTC", now=NOW,
                          retention_days=200)
    assert previous_window(window, "UTC", now=NOW, retention_days=200) is None
    assert previous_window(window, "UTC", now=NOW, retention_days=400) is not None
