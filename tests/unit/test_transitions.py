"""SPEC §1 counting rules, one impression and one page view at a time (server/counting/rules.py)."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.counting.rules import (
    Delta,
    ImpressionState,
    RollupKey,
    apply_to_impression,
    impression_key,
    page_view_key,
    plan,
)
from server.model import (
    BUCKET_MS,
    CLICK_SURFACES_DEFAULT,
    Counts,
    Event,
    EventType,
    Surface,
    bucket_of,
)

T0 = 1_763_799_300_000  # a bucket edge
assert T0 % BUCKET_MS == 0
MINUTE = 60_000
HOUR = 60 * MINUTE

SERVED, VIEWABLE, CLICK, VIEW = (
    EventType.SERVED, EventType.VIEWABLE, EventType.CLICK, EventType.VIEW
)
SEARCH, CATEGORY, HOMEPAGE, USER_PAGE, OTHER = Surface

_ids = itertools.count()


def event(
    type_: EventType,
    imp: str | None = "i-1",
    *,
    gig: str = "g-1",
    surface: Surface | None = None,
    ts: int = T0,
    position: int | None = None,
    pv: str | None = None,
    automated: bool = False,
) -> Event:
    """A trusted event (as the edge would make it); served/click default to `search`."""
    if surface is None and type_ in (SERVED, CLICK):
        surface = SEARCH
    return Event(
        id=f"evt-{next(_ids):08d}",
        type=type_,
        gig=gig,
        ts=ts,
        imp=None if type_ is VIEW else imp,
        pv=pv,
        surface=surface,
        position=position,
        automated=automated,
    )


def run(*events: Event) -> Delta:
    _, delta = plan(events, {}, set())
    return delta


def total(delta: Delta, gig: str | None = None) -> Counts:
    out = Counts()
    for key, counts in delta.items():
        if gig is None or key.gig == gig:
            out.add(counts)
    return out


def figures(counts: Counts) -> tuple[int, int, int, int]:
    return counts.served, counts.viewable, counts.clicks, counts.views


# --- served -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "types",
    [
        [SERVED],
        [VIEWABLE],
        [CLICK],
        [SERVED, SERVED],
        [SERVED, SERVED, SERVED],
        [VIEWABLE, SERVED],
        [CLICK, SERVED],
        [CLICK, VIEWABLE, SERVED],
        [VIEWABLE, VIEWABLE, CLICK, SERVED, SERVED],
    ],
    ids=lambda types: "-".join(t.value for t in types),
)
def test_an_impression_is_served_once_whatever_event_names_it_first(
    types: list[EventType],
) -> None:
    assert total(run(*(event(t) for t in types))).served == 1


def test_each_impression_id_is_its_own_served_impression() -> None:
    delta = run(event(SERVED, "i-1"), event(SERVED, "i-2"), event(SERVED, "i-3"))
    assert total(delta).served == 3


def test_the_same_impression_id_on_two_gigs_is_two_impressions() -> None:
    delta = run(event(SERVED, gig="g-1"), event(SERVED, gig="g-2"))
    assert total(delta, "g-1").served == 1
    assert total(delta, "g-2").served == 1


def test_an_impression_first_named_by_a_viewable_event_is_served_under_other() -> None:
    delta = run(event(VIEWABLE))
    assert delta == {RollupKey("g-1", T0, OTHER): Counts(served=1, viewable=1)}


# --- viewable -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("types", "viewable"),
    [
        ([SERVED], 0),
        ([SERVED, VIEWABLE], 1),
        ([SERVED, VIEWABLE, VIEWABLE], 1),
        ([VIEWABLE, VIEWABLE, VIEWABLE], 1),
        ([SERVED, CLICK], 1),  # MRC strong interaction
        ([CLICK], 1),
        ([SERVED, VIEWABLE, CLICK], 1),
        ([SERVED, CLICK, VIEWABLE], 1),
        ([CLICK, CLICK], 1),
    ],
    ids=lambda x: "-".join(t.value for t in x) if isinstance(x, list) else str(x),
)
def test_an_impression_is_viewable_at_most_once(types: list[EventType], viewable: int) -> None:
    assert total(run(*(event(t) for t in types))).viewable == viewable


def test_clicked_impression_counts_as_viewable() -> None:
    delta = run(event(SERVED), event(CLICK))
    assert figures(total(delta)) == (1, 1, 1, 0)


# --- clicks -------------------------------------------------------------------------------


@pytest.mark.parametrize("repeats", [1, 2, 5])
def test_an_impression_is_clicked_at_most_once(repeats: int) -> None:
    delta = run(event(SERVED), *(event(CLICK) for _ in range(repeats)))
    assert total(delta).clicks == 1


def test_a_middle_click_then_a_click_on_another_surface_is_still_one_click() -> None:
    delta = run(event(SERVED), event(CLICK, surface=SEARCH), event(CLICK, surface=CATEGORY))
    assert total(delta).clicks == 1
    assert delta[RollupKey("g-1", T0, SEARCH)].clicks == 1
    assert RollupKey("g-1", T0, CATEGORY) not in delta


@pytest.mark.parametrize("served_on", list(Surface))
@pytest.mark.parametrize("clicked_on", list(Surface))
def test_a_click_is_filed_under_the_surface_the_tile_was_shown_on(
    served_on: Surface, clicked_on: Surface
) -> None:
    # Even when a (non-snippet) client names another surface on the click: a surface's
    # clicks then never exceed its viewable impressions.
    delta = run(event(SERVED, surface=served_on), event(CLICK, surface=clicked_on))
    clicks = {key.surface: counts.clicks for key, counts in delta.items() if counts.clicks}
    assert clicks == {served_on: 1}
    assert delta[RollupKey("g-1", T0, served_on)].served == 1
    assert delta[RollupKey("g-1", T0, served_on)].viewable == 1


def test_every_count_goes_to_the_bucket_of_the_event_that_first_named_the_impression() -> None:
    delta = run(
        event(SERVED, ts=T0 + 14 * MINUTE),
        event(VIEWABLE, ts=T0 + 16 * MINUTE),
        event(CLICK, ts=T0 + 2 * 60 * MINUTE),
    )
    assert delta == {RollupKey("g-1", T0, SEARCH): Counts(served=1, viewable=1, clicks=1)}


def test_a_late_served_event_does_not_move_an_impression_to_its_bucket() -> None:
    delta = run(event(CLICK, ts=T0), event(SERVED, ts=T0 + 3 * BUCKET_MS))
    assert set(delta) == {RollupKey("g-1", T0, SEARCH)}


# --- position -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "position_sum", "position_count"),
    [
        ([event(SERVED, position=3)], 3, 1),
        ([event(SERVED)], 0, 0),
        ([event(SERVED, position=3), event(SERVED, position=5)], 3, 1),
        ([event(SERVED, position=3), event(CLICK, position=9)], 3, 1),
        ([event(VIEWABLE), event(SERVED, position=4)], 4, 1),
        ([event(CLICK, position=7), event(SERVED, position=2)], 7, 1),
        ([event(SERVED), event(SERVED, position=6), event(SERVED, position=1)], 6, 1),
    ],
)
def test_position_is_counted_once_with_the_first_known_position(
    events: list[Event], position_sum: int, position_count: int
) -> None:
    counts = total(run(*events))
    assert (counts.position_sum, counts.position_count) == (position_sum, position_count)


def test_positions_of_several_impressions_average_over_impressions() -> None:
    counts = total(run(*(event(SERVED, f"i-{p}", position=p) for p in (1, 2, 3, 4))))
    assert (counts.position_sum, counts.position_count) == (10, 4)


def test_a_late_position_is_filed_with_the_impression() -> None:
    delta = run(event(VIEWABLE, ts=T0), event(SERVED, surface=SEARCH, position=4, ts=T0 + HOUR))
    row = delta[RollupKey("g-1", T0, SEARCH)]
    assert (row.served, row.viewable, row.position_sum, row.position_count) == (1, 1, 4, 1)
    assert RollupKey("g-1", T0, OTHER) not in delta  # moved out, nothing left behind


def test_an_impression_moves_once_to_the_first_surface_an_event_names() -> None:
    first = run(event(VIEWABLE, ts=T0))
    assert first == {RollupKey("g-1", T0, OTHER): Counts(served=1, viewable=1)}
    state, delta = apply_to_impression(None, event(VIEWABLE, ts=T0))
    assert state.surface is OTHER and not state.surface_known
    state, delta = apply_to_impression(state, event(CLICK, surface=CATEGORY, position=3))
    assert state.surface is CATEGORY and state.surface_known and state.clicked
    assert delta == {
        RollupKey("g-1", T0, OTHER): Counts(served=-1, viewable=-1),
        RollupKey("g-1", T0, CATEGORY): Counts(
            served=1, viewable=1, clicks=1, position_sum=3, position_count=1
        ),
    }
    # Named once, it stays: a later event naming another surface moves nothing.
    state, delta = apply_to_impression(state, event(SERVED, surface=SEARCH))
    assert state.surface is CATEGORY and delta == {}


# --- views --------------------------------------------------------------------------------


def view(pv: str | None, **kw: object) -> Event:
    return event(VIEW, pv=pv, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("views", "expected"),
    [
        ([view("p-1")], 1),
        ([view("p-1"), view("p-1")], 1),
        ([view("p-1"), view("p-2")], 2),
        ([view("p-1"), view("p-2"), view("p-1"), view("p-2")], 2),
        ([view(None)], 1),
        ([view(None), view(None)], 2),  # each load without a pv counts once per event
        ([view(None), view("p-1"), view(None), view("p-1")], 3),
    ],
)
def test_a_page_view_counts_once_per_pv_and_once_per_event_without_pv(
    views: list[Event], expected: int
) -> None:
    assert total(run(*views)).views == expected


def test_the_same_pv_on_two_gigs_is_two_views() -> None:
    delta = run(view("p-1", gig="g-1"), view("p-1", gig="g-2"))
    assert total(delta, "g-1").views == total(delta, "g-2").views == 1


def test_a_view_is_filed_under_its_surface_or_other() -> None:
    delta = run(view("p-1", surface=USER_PAGE), view("p-2"))
    assert delta == {
        RollupKey("g-1", T0, USER_PAGE): Counts(views=1),
        RollupKey("g-1", T0, OTHER): Counts(views=1),
    }


def test_views_are_not_impressions() -> None:
    assert figures(total(run(view("p-1"), view(None)))) == (0, 0, 0, 2)


# --- automated ----------------------------------------------------------------------------


@pytest.mark.parametrize("type_", list(EventType))
def test_automated_events_are_not_counted(type_: EventType) -> None:
    changed, delta = plan([event(type_, pv="p-1", automated=True)], {}, set())
    assert (changed, delta) == ({}, {})


def test_an_automated_event_leaves_no_state_behind() -> None:
    impressions: dict[str, ImpressionState] = {}
    page_views: set[str] = set()
    plan([event(CLICK, automated=True), view("p-1", automated=True)], impressions, page_views)
    assert (impressions, page_views) == ({}, set())
    _, delta = plan([event(SERVED), view("p-1")], impressions, page_views)
    assert figures(total(delta)) == (1, 0, 0, 1)


# --- stored state -------------------------------------------------------------------------


def test_plan_counts_against_the_stored_state_and_updates_it_in_place() -> None:
    impressions = {
        impression_key(event(SERVED)): ImpressionState(bucket=T0 - BUCKET_MS, surface=CATEGORY)
    }
    page_views = {page_view_key(view("p-1"))}
    changed, delta = plan(
        [event(SERVED), event(CLICK, surface=CATEGORY), view("p-1"), view("p-2")],
        impressions,
        page_views,  # type: ignore[arg-type]
    )
    assert delta == {
        RollupKey("g-1", T0 - BUCKET_MS, CATEGORY): Counts(viewable=1, clicks=1),
        RollupKey("g-1", T0, OTHER): Counts(views=1),
    }
    key = impression_key(event(SERVED))
    assert changed == {key: impressions[key]}
    assert impressions[key].viewable and impressions[key].clicked
    assert page_view_key(view("p-2")) in page_views


def test_an_event_that_changes_nothing_leaves_no_delta_and_no_change() -> None:
    state = ImpressionState(bucket=T0, surface=SEARCH, viewable=True, clicked=True, position=2)
    impressions = {impression_key(event(SERVED)): state}
    changed, delta = plan(
        [event(SERVED, position=5), event(VIEWABLE), event(CLICK)], impressions, set()
    )
    assert (changed, delta) == ({}, {})
    assert impressions[impression_key(event(SERVED))] is state


def test_apply_to_impression_reports_the_new_state_and_its_delta() -> None:
    state, delta = apply_to_impression(None, event(SERVED, surface=HOMEPAGE, position=2))
    assert state == ImpressionState(bucket=T0, surface=HOMEPAGE, position=2)
    assert delta == {
        RollupKey("g-1", T0, HOMEPAGE): Counts(served=1, position_sum=2, position_count=1)
    }
    state, delta = apply_to_impression(state, event(CLICK, surface=SEARCH))
    assert state.viewable and state.clicked
    assert delta == {RollupKey("g-1", T0, HOMEPAGE): Counts(viewable=1, clicks=1)}


def test_dedupe_keys_do_not_collide_across_gigs_and_ids() -> None:
    # gig may hold '.' and ':' but never the separator.
    a = event(SERVED, "b", gig="a:x")
    b = event(SERVED, "x-b", gig="a")
    assert impression_key(a) != impression_key(b)
    assert page_view_key(view(None)) is None


# --- bucket_of ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "bucket"),
    [
        (0, 0),
        (1, 0),
        (BUCKET_MS - 1, 0),
        (BUCKET_MS, BUCKET_MS),
        (BUCKET_MS + 1, BUCKET_MS),
        (-1, -BUCKET_MS),
        (T0, T0),
        (T0 + 14 * MINUTE + 59_999, T0),
        (T0 + 15 * MINUTE, T0 + 15 * MINUTE),
        (T0 - 1, T0 - BUCKET_MS),
    ],
)
def test_bucket_of_is_the_start_of_the_15_minute_bucket(ts: int, bucket: int) -> None:
    assert BUCKET_MS == 15 * 60 * 1000
    assert bucket_of(ts) == bucket


@given(st.integers(-(10**15), 10**15))
def test_bucket_of_holds_its_instant(ts: int) -> None:
    start = bucket_of(ts)
    assert start % BUCKET_MS == 0
    assert start <= ts < start + BUCKET_MS
    assert bucket_of(start) == start


# --- properties over random event streams -------------------------------------------------

GIGS = ["g-1", "g.2:x"]
IMPS = ["i-1", "i-2", "i-3", "i-4"]
PVS = [None, "p-1", "p-2"]

STREAM_EVENTS = st.builds(
    lambda type_, gig, imp, pv, surface, minute, position, automated: event(
        type_,
        imp,
        gig=gig,
        pv=pv,
        surface=surface if surface or type_ not in (SERVED, CLICK) else SEARCH,
        ts=T0 + minute * MINUTE,
        position=position,
        automated=automated,
    ),
    st.sampled_from([SERVED, VIEWABLE, CLICK, VIEW]),  # what these rules count: not orders yet
    st.sampled_from(GIGS),
    st.sampled_from(IMPS),
    st.sampled_from(PVS),
    st.none() | st.sampled_from(Surface),
    st.integers(0, 90),
    st.none() | st.integers(1, 60),
    st.sampled_from([False, False, False, True]),
)


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    """Random events, with retried duplicates, delivered in a random order."""
    events = draw(st.lists(STREAM_EVENTS, max_size=40))
    duplicates = draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    return draw(st.permutations(events + duplicates))


def expected_totals(events: list[Event], gig: str) -> tuple[int, int, int, int]:
    counted = [e for e in events if not e.automated and e.gig == gig]
    imps = {e.imp for e in counted if e.type is not VIEW}
    viewable = {e.imp for e in counted if e.type in (VIEWABLE, CLICK)}
    clicked = {e.imp for e in counted if e.type is CLICK}
    page_views = [e for e in counted if e.type is VIEW]
    views = len({e.pv for e in page_views if e.pv}) + sum(1 for e in page_views if not e.pv)
    return len(imps), len(viewable), len(clicked), views


@settings(max_examples=300, deadline=None)
@given(streams())
def test_served_viewable_clicks_hold_in_every_bucket(events: list[Event]) -> None:
    delta = run(*events)
    per_bucket: dict[tuple[str, int], Counts] = defaultdict(Counts)
    counted_per_bucket: dict[tuple[str, int], Counts] = defaultdict(Counts)
    for key, counts in delta.items():
        assert min(figures(counts)) >= 0
        per_bucket[key.gig, key.bucket].add(counts)
        counted = Counts(counts.served, counts.viewable)
        if key.surface in CLICK_SURFACES_DEFAULT:
            counted.clicks = counts.clicks
        counted_per_bucket[key.gig, key.bucket].add(counted)
    for counts in [*per_bucket.values(), *counted_per_bucket.values()]:
        assert counts.served >= counts.viewable >= counts.clicks


@settings(max_examples=300, deadline=None)
@given(streams())
def test_totals_are_exact_whatever_the_order_and_duplicates(events: list[Event]) -> None:
    delta = run(*events)
    for gig in GIGS:
        assert figures(total(delta, gig)) == expected_totals(events, gig)
        positioned = {
            e.imp
            for e in events
            if e.gig == gig and not e.automated and e.position and e.type is not VIEW
        }
        assert total(delta, gig).position_count == len(positioned)


@settings(max_examples=200, deadline=None)
@given(streams(), st.lists(st.integers(0, 40), max_size=5))
def test_splitting_a_stream_into_batches_changes_nothing(
    events: list[Event], cuts: list[int]
) -> None:
    whole = run(*events)
    impressions: dict[str, ImpressionState] = {}
    page_views: set[str] = set()
    pieces: Delta = {}
    edges = [0, *sorted(min(c, len(events)) for c in cuts), len(events)]
    for lo, hi in itertools.pairwise(edges):
        _, delta = plan(events[lo:hi], impressions, page_views)
        for key, counts in delta.items():
            pieces.setdefault(key, Counts()).add(counts)
    # A row that went up in one batch and down in a later one (a surface named late) is zero.
    assert {k: v for k, v in pieces.items() if not v.is_zero()} == whole
