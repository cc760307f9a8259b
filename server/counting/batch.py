"""One batch's counting as data: stored state in, every write out (both stores apply it).

A store runs it in three steps inside its write transaction:

1. `needs(events)`: the keys whose stored state the batch's decisions read (impressions,
   page loads, signed renders, gigs, and the (gig, UTC day) pairs of the contexts it will
   likely touch), so the store loads them in as few reads as it can;
2. `plan_batch(new, stored)`: the new (deduplicated) events and that state in, a
   `BatchPlan` out: raw event rows with their invalid reason, changed impressions, new page
   loads and renders, rollup, bounded context and invalid deltas, owners and claims;
3. the store writes the plan. Nothing in it is decided by the store.

When the plan needs state the store did not load (kept contexts of a day other than the
events' own: a stored impression counted yesterday and clicked today; the claimants of a gig
whose claims it must bound), it says so in `BatchPlan.more` and writes nothing: the store
loads that too and plans again. Rare on MongoDB (it loads everything of step 1 up front);
SQLite loads contexts and claimants only when asked, as it always did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..model import DAY_MS, Event, EventType, bucket_of
from .ownership import OTHER_SELLERS, Conflict, Owner, bound_claims, decide
from .rules import (
    ContextDelta,
    Delta,
    ImpressionState,
    InvalidKey,
    bound_contexts,
    impression_key,
    invalid_delta,
    invalid_reason,
    page_view_key,
    plan,
)
from .splits import SplitDelta, bound_variants, variant_days

DayPair = tuple[str, int]  # (gig, UTC day number)


@dataclass(slots=True)
class Needs:
    """Keys whose stored state a batch's decisions read."""

    # Each key with its gig (MongoDB files every key under its gig).
    impressions: dict[str, str] = field(default_factory=dict)
    page_views: dict[str, str] = field(default_factory=dict)
    renders: dict[str, str] = field(default_factory=dict)
    gigs: set[str] = field(default_factory=set)
    # Contexts kept per (gig, day): the days of the events themselves (a guess that misses
    # only an impression stored on another day), and the gigs whose claimants bound claims.
    context_days: set[DayPair] = field(default_factory=set)
    claimants: set[str] = field(default_factory=set)
    # Variants kept per (gig, day): asked for only by a plan (`more`) that names variants.
    variant_days: set[DayPair] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.impressions or self.page_views or self.renders or self.gigs
                    or self.context_days or self.claimants or self.variant_days)


@dataclass(slots=True)
class Stored:
    """The stored state a store loaded for `Needs` (a key it looked for and did not find is
    simply absent; `contexts` and `claimants` hold an entry, maybe empty, per key loaded)."""

    impressions: dict[str, ImpressionState] = field(default_factory=dict)
    page_views: set[str] = field(default_factory=set)
    renders: dict[str, str] = field(default_factory=dict)  # render key -> holder
    owners: dict[str, Owner] = field(default_factory=dict)
    claimants: dict[str, set[str]] = field(default_factory=dict)  # OTHER_SELLERS left out
    contexts: dict[DayPair, set[str]] = field(default_factory=dict)
    variants: dict[DayPair, set[str]] = field(default_factory=dict)

    def add_contexts(self, rows: Iterable[tuple[str, int, str]], days: Iterable[DayPair]) -> None:
        """Record kept (gig, day, context) rows read for `days` (every day gets an entry)."""
        _add_kept(self.contexts, rows, days)

    def add_variants(self, rows: Iterable[tuple[str, int, str]], days: Iterable[DayPair]) -> None:
        """Record kept (gig, day, variant) rows read for `days` (every day gets an entry)."""
        _add_kept(self.variants, rows, days)

    def add_claimants(self, rows: Iterable[tuple[str, str]], gigs: Iterable[str]) -> None:
        """Record kept (gig, seller) claimants read for `gigs` (every gig gets an entry)."""
        for gig in gigs:
            self.claimants.setdefault(gig, set())
        for gig, seller in rows:
            if seller != OTHER_SELLERS:
                self.claimants.setdefault(gig, set()).add(seller)


@dataclass(slots=True)
class BatchPlan:
    """Every write of one batch, as plain data (empty, with `more` set, when state is
    missing)."""

    more: Needs = field(default_factory=Needs)
    # (event, why it is invalid traffic or None), in the batch's order.
    events: list[tuple[Event, str | None]] = field(default_factory=list)
    judged: dict[str, str] = field(default_factory=dict)  # event id -> reason `plan` found
    impressions: dict[str, ImpressionState] = field(default_factory=dict)  # changed
    impression_gigs: dict[str, str] = field(default_factory=dict)  # impression key -> gig
    page_views: dict[str, int] = field(default_factory=dict)  # new key -> bucket
    page_view_gigs: dict[str, str] = field(default_factory=dict)  # page-load key -> gig
    renders: list[tuple[str, str, int, str]] = field(default_factory=list)  # key, holder, ts, gig
    rollups: Delta = field(default_factory=dict)
    contexts: ContextDelta = field(default_factory=dict)  # bounded
    admitted: set[tuple[str, int, str]] = field(default_factory=set)  # (gig, day, context)
    splits: SplitDelta = field(default_factory=dict)  # variants bounded
    admitted_variants: set[tuple[str, int, str]] = field(default_factory=set)  # (gig, day, v)
    invalid: dict[InvalidKey, int] = field(default_factory=dict)
    owners: dict[str, Owner] = field(default_factory=dict)  # new gigs and changed owners
    claims: dict[tuple[str, str], Conflict] = field(default_factory=dict)
    claimants: dict[str, list[str]] = field(default_factory=dict)  # newly kept, per gig


def needs(events: Iterable[Event]) -> Needs:
    """What deciding these events reads (over-asking is harmless: unused state is ignored)."""
    wanted = Needs()
    for event in events:
        wanted.gigs.add(event.gig)
        if event.automated or event.invalid is not None:
            continue
        if event.render is not None:
            wanted.renders.setdefault(event.render, event.gig)
        if event.type is EventType.VIEW:
            key = page_view_key(event)
            if key is not None:
                wanted.page_views[key] = event.gig
            continue
        if event.imp is None:  # an order of the gig alone
            continue
        wanted.impressions[impression_key(event)] = event.gig
        wanted.context_days.add((event.gig, event.ts // DAY_MS))
    return wanted


def plan_batch(new: Sequence[Event], stored: Stored) -> BatchPlan:
    """Every write of these new events, given the stored state (`stored` is not changed)."""
    counted = [e for e in new if not e.automated and e.invalid is None]
    impressions = dict(stored.impressions)
    seen_views = set(stored.page_views)
    renders = dict(stored.renders)
    contexts: ContextDelta = {}
    judged: dict[str, str] = {}
    split: SplitDelta = {}
    changed, delta = plan(counted, impressions, seen_views, contexts, renders, judged, split)
    owners, conflicts = decide(stored.owners, new)
    more = Needs(
        context_days={(k.gig, k.bucket // DAY_MS) for k in contexts} - set(stored.contexts),
        claimants={gig for gig, _ in conflicts} - set(stored.claimants),
        variant_days=variant_days(split) - set(stored.variants),
    )
    if more:
        return BatchPlan(more=more)
    kept = {pair: set(found) for pair, found in stored.contexts.items()}
    bounded, admitted = bound_contexts(contexts, kept)
    kept_variants = {pair: set(found) for pair, found in stored.variants.items()}
    split_bounded, admitted_variants = bound_variants(split, kept_variants)
    claims, claimants = bound_claims(conflicts, stored.claimants)
    result = BatchPlan(
        events=[(e, invalid_reason(e, judged.get(e.id))) for e in new],
        judged=judged,
        impressions=changed,
        rollups=delta,
        contexts=bounded,
        admitted=admitted,
        splits=split_bounded,
        admitted_variants=admitted_variants,
        invalid=invalid_delta(new, judged),
        owners=owners,
        claims=claims,
        claimants=claimants,
    )
    new_views = seen_views - stored.page_views
    spent: dict[str, tuple[int, str]] = {}  # render -> (time, gig) of its first event
    for event in counted:
        if event.type is EventType.VIEW:
            key = page_view_key(event)
            if key in new_views and key not in result.page_views:
                result.page_views[key] = bucket_of(event.ts)
                result.page_view_gigs[key] = event.gig
        elif (key := impression_key(event)) in changed:
            result.impression_gigs[key] = event.gig
        if event.render is not None:
            spent.setdefault(event.render, (event.ts, event.gig))
    result.renders = [
        (key, renders[key], *spent[key]) for key in sorted(set(renders) - set(stored.renders))
    ]
    return result


def _add_kept(
    kept: dict[DayPair, set[str]], rows: Iterable[tuple[str, int, str]], days: Iterable[DayPair]
) -> None:
    for pair in days:
        kept.setdefault(pair, set())
    for gig, day, name in rows:
        kept.setdefault((gig, day), set()).add(name)
