"""The batch plan both stores apply: stored state in, every write out, without a database."""

from __future__ import annotations

from server.counting.batch import Needs, Stored, needs, plan_batch
from server.counting.ownership import CLAIMS_PER_GIG, OTHER_SELLERS, Conflict
from server.counting.rules import (
    CONTEXTS_PER_DAY,
    OTHER_CONTEXT,
    ContextKey,
    ImpressionState,
    RollupKey,
)
from server.model import DAY_MS, Counts, Event, EventType, Invalid, Surface, Trust, bucket_of

T0 = bucket_of(1_763_800_000_000)


def event(n: int, kind: EventType = EventType.SERVED, gig: str = "g-1", **fields: object) -> Event:
    fields.setdefault("ts", T0)
    fields.setdefault("imp", None if kind is EventType.VIEW else f"i-{n}")
    return Event(id=f"ev-{n}", type=kind, gig=gig, **fields)  # type: ignore[arg-type]


def test_needs_name_every_key_with_its_gig_and_skip_what_is_never_counted() -> None:
    wanted = needs([
        event(1, surface=Surface.SEARCH, render="n.1"),
        event(2, EventType.VIEW, gig="g-2", pv="p-1"),
        event(3, automated=True),
        event(4, invalid=Invalid.CRAWLER, gig="g-3"),
    ])
    assert wanted.impressions == {"i-1\x1fg-1": "g-1"}
    assert wanted.page_views == {"p-1\x1fg-2": "g-2"}
    assert wanted.renders == {"n.1": "g-1"}
    assert wanted.gigs == {"g-1", "g-2", "g-3"}
    assert wanted.context_days == {("g-1", T0 // DAY_MS)}


def test_a_new_batch_writes_events_impressions_views_rollups_and_its_new_gig() -> None:
    new = [
        event(1, surface=Surface.SEARCH, position=2, render="n.1"),
        event(2, EventType.CLICK, imp="i-1", surface=Surface.SEARCH),
        event(3, EventType.VIEW, pv="p-1"),
        event(4, EventType.VIEW, pv="p-1"),
        event(5, automated=True),
    ]
    planned = plan_batch(new, Stored(contexts={("g-1", T0 // DAY_MS): set()}))
    assert not planned.more
    assert [(e.id, reason) for e, reason in planned.events] == [
        ("ev-1", None), ("ev-2", None), ("ev-3", None), ("ev-4", None),
        ("ev-5", Invalid.DECLARED_AUTOMATION),
    ]
    assert planned.rollups == {
        RollupKey("g-1", T0, Surface.SEARCH): Counts(1, 1, 1, 0, 2, 1),
        RollupKey("g-1", T0, Surface.OTHER): Counts(views=1),
    }
    assert set(planned.impressions) == {"i-1\x1fg-1"}  # the automated one counts nothing
    assert planned.impression_gigs == {"i-1\x1fg-1": "g-1"}
    assert planned.page_views == {"p-1\x1fg-1": T0}
    assert planned.renders == [("n.1", "i-1", T0, "g-1")]
    assert planned.owners == {"g-1": (None, T0)}
    assert planned.invalid == {("g-1", T0, Invalid.DECLARED_AUTOMATION): 1}
    assert not planned.claims and not planned.contexts and not planned.admitted


def test_stored_state_decides_and_is_left_unchanged() -> None:
    stored = Stored(
        impressions={},
        page_views={"p-1\x1fg-1"},
        renders={"n.1": "i-9"},
        owners={"g-1": ("alice", T0)},
        contexts={("g-1", T0 // DAY_MS): set()},
    )
    before = (dict(stored.impressions), set(stored.page_views), dict(stored.renders))
    planned = plan_batch(
        [event(1, surface=Surface.SEARCH, render="n.1"), event(2, EventType.VIEW, pv="p-1")],
        stored,
    )
    assert planned.judged == {"ev-1": Invalid.REPLAYED}  # the tile was spent by i-9
    assert planned.rollups == {} and planned.page_views == {} and planned.renders == []
    assert planned.owners == {}  # known gig, owner unchanged: nothing to write
    assert (stored.impressions, stored.page_views, stored.renders) == before


def test_contexts_of_a_day_not_loaded_are_asked_for_then_bounded() -> None:
    yesterday = T0 - DAY_MS
    stored = Stored(
        impressions={"i-1\x1fg-1": ImpressionState(yesterday, Surface.SEARCH, context="logo")},
        owners={"g-1": (None, T0)},
        contexts={("g-1", T0 // DAY_MS): set()},
    )
    click = event(1, EventType.CLICK, imp="i-1", surface=Surface.SEARCH)
    first = plan_batch([click], stored)
    assert first.more == Needs(context_days={("g-1", yesterday // DAY_MS)})
    assert not first.events and not first.rollups  # nothing to write until it has the state
    full = {f"c-{n}" for n in range(CONTEXTS_PER_DAY)}
    stored.add_contexts([("g-1", yesterday // DAY_MS, c) for c in full], first.more.context_days)
    second = plan_batch([click], stored)
    assert not second.more and second.admitted == set()
    assert second.contexts == {
        ContextKey("g-1", yesterday, Surface.SEARCH, OTHER_CONTEXT): Counts(viewable=1, clicks=1)
    }


def test_claims_ask_for_kept_claimants_then_past_the_cap_sum_as_other_sellers() -> None:
    claim = event(1, seller="mallory", trust=Trust.CLAIM, surface=Surface.SEARCH)
    stored = Stored(owners={"g-1": ("bob", T0)}, contexts={("g-1", T0 // DAY_MS): set()})
    asked = plan_batch([claim], stored)
    assert asked.more == Needs(claimants={"g-1"})
    kept = [("g-1", f"s-{n}") for n in range(CLAIMS_PER_GIG)] + [("g-1", OTHER_SELLERS)]
    stored.add_claimants(kept, {"g-1"})
    assert len(stored.claimants["g-1"]) == CLAIMS_PER_GIG  # the sum row is no claimant
    planned = plan_batch([claim], stored)
    assert planned.claims == {("g-1", OTHER_SELLERS): Conflict("g-1", OTHER_SELLERS, T0, T0, 1)}
    assert planned.claimants == {}
    stored.claimants["g-1"] = set()
    assert plan_batch([claim], stored).claimants == {"g-1": ["mallory"]}
