"""Pure rollup arithmetic: how one event changes an impression and the gig's time buckets.

Every store runs the same rules, so "exactly once" is decided in one place:

- an impression (gig, imp) is served once, whatever event first names it;
- it becomes viewable at most once, on a `viewable` or a `click` event (MRC strong interaction);
- it is clicked at most once; the click is filed under the surface the tile was shown on;
- a page view (gig, pv) is a view at most once;
- all of an impression's counts go to the bucket of the event that first named it, and to
  the surface its listing was shown on (the first surface an event names: until one does,
  `other`), so every bucket, day and surface keeps served >= viewable >= clicks;
- an impression whose listing names a context (search query, category slug: the first an
  event names) also counts in the context rollups, under the same bucket and surface, so
  "which searches show my gig" is read from rollups too. `bound_contexts` caps how many
  contexts a gig keeps per day;
- an impression takes its variant and device from its `served` event (one that arrives
  after another event named the impression moves its counts there, once), and counts in the
  variant and device rows of `splits.py`;
- an `order` never makes an impression served or seen. With a known impression (`imp`,
  stored or earlier in the batch) it counts in that impression's bucket, surface, context,
  variant and device: attributed by the time of the showing, as ad servers report
  conversions by interaction time, so a day's orders belong to that day's impressions.
  Without one it counts for the gig alone: its own bucket, surface `other`, no context or
  variant, the device of its own request. Its value counts per currency (`splits.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import NamedTuple

from ..model import BUCKET_MS, DAY_MS, Counts, Device, Event, EventType, Invalid, Surface, bucket_of
from . import splits
from .splits import CURRENCY, DEVICE, SplitDelta

# Contexts kept per gig and UTC day; later new ones that day are summed as OTHER_CONTEXT.
# With it a day of a gig holds at most 96 buckets x (100 + 1) contexts x 5 surfaces context
# rows, however many different searches showed it.
CONTEXTS_PER_DAY = 100
# The context of the summed row; never a real one (an empty context is no context).
OTHER_CONTEXT = ""


class ImpressionState(NamedTuple):
    """What is known about one impression (one tile in one render)."""

    bucket: int
    surface: Surface
    viewable: bool = False
    clicked: bool = False
    position: int | None = None
    # False while no event has named the surface (a `viewable` before its `served`): the
    # impression sits under `other` until one does, then moves there once.
    surface_known: bool = True
    # The search query or category slug of the listing: the first one an event names.
    context: str | None = None
    # Orders attributed to this showing (each order id once: event ids are deduped).
    orders: int = 0
    # The tile's version and the device that showed it: from its `served` event. True while
    # another event named the impression first and its `served` has not come: no variant
    # and the device of that first event until it does.
    variant: str | None = None
    device: Device | None = None
    awaiting_served: bool = False


class RollupKey(NamedTuple):
    """One rollup row: a gig, a 15-minute bucket, a surface."""

    gig: str
    bucket: int
    surface: Surface


Delta = dict[RollupKey, Counts]


class ContextKey(NamedTuple):
    """One context rollup row: a gig, a 15-minute bucket, a surface, a context."""

    gig: str
    bucket: int
    surface: Surface
    context: str


# Context rows use served, viewable, clicks and positions of `Counts`; views stay 0.
ContextDelta = dict[ContextKey, Counts]


def impression_key(event: Event) -> str:
    """The dedupe key of the impression an event is about."""
    return f"{event.imp}\x1f{event.gig}"


def page_view_key(event: Event) -> str | None:
    """The dedupe key of the page load a `view` event is about (None without a `pv`)."""
    return None if event.pv is None else f"{event.pv}\x1f{event.gig}"


def apply_to_impression(
    before: ImpressionState | None, event: Event
) -> tuple[ImpressionState, Delta]:
    """The impression after `event`, and what that adds to the rollups."""
    delta: Delta = {}
    return _apply(before, event, delta), delta


def _apply(before: ImpressionState | None, event: Event, delta: Delta) -> ImpressionState:
    # The hot loop of every store: plain tuples and dict lookups, no per-event allocation
    # beyond the new state.
    if before is None:
        bucket = event.ts - event.ts % BUCKET_MS
        surface = event.surface or Surface.OTHER
        known = event.surface is not None
        context = event.context
        viewable = clicked = False
        position = None
        orders = 0
        awaiting = event.type is not EventType.SERVED
        variant = None if awaiting else event.variant
        device = event.device
        row = _counts(delta, event.gig, bucket, surface)
        row.served += 1
    else:
        (bucket, surface, viewable, clicked, position, known, context, orders, variant, device,
         awaiting) = before
        row = None
        if context is None:
            context = event.context
        if awaiting and event.type is EventType.SERVED:
            # Its own `served` at last: the variant and device it showed (splits move once).
            awaiting = False
            variant = event.variant
            device = event.device or device
        if not known and event.surface is not None:
            # The surface is named at last: move what this impression counted so far.
            old = _counts(delta, event.gig, bucket, surface)
            surface, known = event.surface, True
            row = _counts(delta, event.gig, bucket, surface)
            for counts, sign in ((old, -1), (row, 1)):
                counts.served += sign
                counts.viewable += sign * viewable
                counts.clicks += sign * clicked
                counts.orders += sign * orders
                if position is not None:
                    counts.position_sum += sign * position
                    counts.position_count += sign
    kind = event.type
    if event.position is not None and position is None:
        position = event.position
        row = row or _counts(delta, event.gig, bucket, surface)
        row.position_sum += position
        row.position_count += 1
    if kind is not EventType.SERVED and not viewable:
        viewable = True
        row = row or _counts(delta, event.gig, bucket, surface)
        row.viewable += 1
    if kind is EventType.CLICK and not clicked:
        # Filed under the listing the tile was shown in, so every surface keeps
        # served >= viewable >= clicks; the snippet copies that surface onto the click.
        clicked = True
        row = row or _counts(delta, event.gig, bucket, surface)
        row.clicks += 1
    after = ImpressionState(bucket, surface, viewable, clicked, position, known, context,
                            orders, variant, device, awaiting)
    return before if before is not None and after == before else after


def context_delta(gig: str, before: ImpressionState | None, after: ImpressionState) -> ContextDelta:
    """What an impression's change adds to the context rollups: its counts under its (bucket,
    surface, context) after, minus before. Nothing while no event has named a context."""
    delta: ContextDelta = {}
    _add_context(delta, gig, before, after)
    return delta


def _add_context(
    delta: ContextDelta, gig: str, before: ImpressionState | None, after: ImpressionState
) -> None:
    # Hot: once per changed impression. `before` is None for a new impression.
    if before is not None and before.context is not None:
        _add_state(delta, gig, before, -1)
    if after.context is not None:
        _add_state(delta, gig, after, 1)


def _add_state(delta: ContextDelta, gig: str, state: ImpressionState, sign: int) -> None:
    bucket, surface, viewable, clicked, position, _, context, orders = state[:8]
    key = ContextKey(gig, bucket, surface, context)  # type: ignore[arg-type]
    row = delta.get(key)
    if row is None:
        row = delta[key] = Counts()
    row.served += sign
    if viewable:
        row.viewable += sign
    if clicked:
        row.clicks += sign
    row.orders += sign * orders
    if position is not None:
        row.position_sum += sign * position
        row.position_count += sign


def bound_contexts(
    delta: ContextDelta, kept: dict[tuple[str, int], set[str]], limit: int = CONTEXTS_PER_DAY
) -> tuple[ContextDelta, set[tuple[str, int, str]]]:
    """The delta with contexts past `limit` per (gig, UTC day) filed under OTHER_CONTEXT.

    `kept` holds the contexts each (gig, day) already keeps and is updated in place; the
    (gig, day, context) triples admitted now are returned for the store to keep. A context
    is admitted or not once per day and kept sets only grow, so a later correction of an
    impression (a surface named late) always reaches the row its first count went to.
    Contexts are considered in (gig, bucket, context, surface) order, so which ones a busy
    day admits does not depend on how its events were batched.
    """
    bounded: ContextDelta = {}
    admitted: set[tuple[str, int, str]] = set()
    others: list[tuple[ContextKey, Counts]] = []
    for key in sorted(delta, key=_CONTEXT_ORDER):
        gig, bucket, surface, context = key
        day = bucket // DAY_MS
        known = kept.get((gig, day))
        if known is None:
            known = kept[(gig, day)] = set()
        if context in known:
            bounded[key] = delta[key]
        elif len(known) < limit:
            known.add(context)
            admitted.add((gig, day, context))
            bounded[key] = delta[key]
        else:
            others.append((ContextKey(gig, bucket, surface, OTHER_CONTEXT), delta[key]))
    for target, counts in others:  # summed: several contexts may land on one row
        row = bounded.get(target)
        if row is None:
            row = bounded[target] = Counts()
        row.add(counts)
    return {k: v for k, v in bounded.items() if not v.is_zero()}, admitted


# (gig, bucket, context, surface): a surface compares as its text.
_CONTEXT_ORDER = itemgetter(0, 1, 3, 2)


def apply_page_view(event: Event) -> Delta:
    """What a first-seen `view` adds: one view in its bucket, under its surface or `other`."""
    key = RollupKey(event.gig, bucket_of(event.ts), event.surface or Surface.OTHER)
    return {key: Counts(views=1)}


def merge(into: Delta, more: Delta) -> None:
    """Add the counters of `more` into `into`."""
    for key, counts in more.items():
        into.setdefault(key, Counts()).add(counts)


def plan(
    events: Iterable[Event],
    impressions: dict[str, ImpressionState],
    seen_page_views: set[str],
    contexts: ContextDelta | None = None,
    renders: dict[str, str] | None = None,
    judged: dict[str, str] | None = None,
    split: SplitDelta | None = None,
) -> tuple[dict[str, ImpressionState], Delta]:
    """Apply new, counted events in order; return the changed impressions and the rollup delta.

    `impressions` and `seen_page_views` hold the stored state of the keys these events name;
    both are updated in place so that later events of the same batch see earlier ones.
    With `contexts`, the context rollup delta is added into it (before `bound_contexts`).
    `renders` holds which impression (or page load) spent each signed tile (or page) these
    events name, and takes the new ones. Events found invalid here go to `judged` (event id
    -> reason): a signed tile spent by another impression, a quick click nothing showed.
    With `split`, the variant, device and currency delta is added into it (before
    `splits.bound_variants`).
    """
    changed: dict[str, ImpressionState] = {}
    delta: Delta = {}
    view = EventType.VIEW
    judged = {} if judged is None else judged
    for event in events:
        if event.automated or event.invalid is not None:
            continue
        if event.render is not None and renders is not None:
            holder = (event.pv if event.type is view else event.imp) or event.id
            spent_by = renders.setdefault(event.render, holder)
            if spent_by != holder:
                judged[event.id] = Invalid.REPLAYED
                continue
        if event.type is view:
            if event.pv is not None:
                key = f"{event.pv}\x1f{event.gig}"
                if key in seen_page_views:
                    continue
                seen_page_views.add(key)
            bucket = event.ts - event.ts % BUCKET_MS
            _counts(delta, event.gig, bucket, event.surface or Surface.OTHER).views += 1
            continue
        ikey = f"{event.imp}\x1f{event.gig}"
        before = impressions.get(ikey)
        if event.type is EventType.ORDER:
            if event.imp is None:
                before = None
            after = _order(before, event, delta, split)
            if after is not None:
                impressions[ikey] = changed[ikey] = after
                if contexts is not None and after.context is not None:
                    _add_context(contexts, event.gig, before, after)
                if split is not None:
                    splits.add_impression(split, event.gig, before, after)
            continue
        if before is None and event.quick:
            judged[event.id] = Invalid.CLICK_UNSHOWN
            continue
        after = _apply(before, event, delta)
        if after is not before:
            impressions[ikey] = after
            changed[ikey] = after
            if contexts is not None and (after.context is not None):
                _add_context(contexts, event.gig, before, after)
            if split is not None:
                splits.add_impression(split, event.gig, before, after)
    if contexts is not None:
        for zero in [k for k, v in contexts.items() if v.is_zero()]:
            del contexts[zero]
    if split is not None:
        for empty in [k for k, v in split.items() if v.is_zero()]:
            del split[empty]
    return changed, {k: v for k, v in delta.items() if not v.is_zero()}


def _order(
    before: ImpressionState | None, event: Event, delta: Delta, split: SplitDelta | None
) -> ImpressionState | None:
    """Count an order: in its impression's rows when it names a known one (the impression
    after, returned), else for the gig alone (None). Its value counts in the same bucket."""
    if before is None:  # no `imp`, or one never shown: the gig's own, under `other`
        bucket = event.ts - event.ts % BUCKET_MS
        _counts(delta, event.gig, bucket, Surface.OTHER).orders += 1
        if split is not None:
            device = splits.device_key(event.device)
            splits.tally(split, event.gig, bucket, DEVICE, device).orders += 1
        after = None
    else:
        bucket = before.bucket
        _counts(delta, event.gig, bucket, before.surface).orders += 1
        after = before._replace(orders=before.orders + 1)
    if split is not None and event.currency is not None and event.value is not None:
        row = splits.tally(split, event.gig, bucket, CURRENCY, event.currency)
        row.orders += 1
        row.amount += splits.thousandths(event.value)
    return after


InvalidKey = tuple[str, int, str]  # (gig, bucket, reason)


def invalid_reason(event: Event, judged: str | None) -> str | None:
    """Why a stored event is invalid traffic (None: it counts): the reason found at the edge,
    else the one `plan` judged (`judged`), else declared automation."""
    reason = event.invalid or judged
    if reason is None and event.automated:
        reason = Invalid.DECLARED_AUTOMATION
    return reason


def count_invalid(events: Iterable[Event], judged: dict[str, str]) -> int:
    """How many of these stored events are invalid traffic (as `invalid_delta` files them)."""
    return sum(1 for e in events if invalid_reason(e, judged.get(e.id)) is not None)


def invalid_delta(events: Iterable[Event], judged: dict[str, str]) -> dict[InvalidKey, int]:
    """How many invalid events each (gig, 15-minute bucket, reason) gets: those invalid at
    the edge, and those `plan` judged (event id -> reason)."""
    delta: dict[InvalidKey, int] = {}
    for event in events:
        reason = invalid_reason(event, judged.get(event.id))
        if reason is not None:
            key = (event.gig, event.ts - event.ts % BUCKET_MS, reason)
            delta[key] = delta.get(key, 0) + 1
    return delta


def _counts(delta: Delta, gig: str, bucket: int, surface: Surface) -> Counts:
    key = RollupKey(gig, bucket, surface)
    row = delta.get(key)
    if row is None:
        row = delta[key] = Counts()
    return row
