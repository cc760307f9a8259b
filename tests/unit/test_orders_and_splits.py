"""Orders, variants, devices and revenue in the batch plan (server/counting/rules.py, splits.py,
batch.py): pure, one batch or several, stored state carried between them."""

from __future__ import annotations

import itertools

from server.counting.batch import BatchPlan, Stored, needs, plan_batch
from server.counting.rules import ContextKey, RollupKey
from server.counting.splits import (
    CURRENCY,
    DEVICE,
    OTHER_VARIANT,
    VARIANT,
    VARIANTS_PER_DAY,
    SplitKey,
    Tally,
    bound_variants,
)
from server.model import BUCKET_MS, DAY_MS, Counts, Device, Event, EventType, Surface

T0 = 1_763_799_300_000
assert T0 % BUCKET_MS == 0
HOUR = 3_600_000
SERVED, VIEWABLE, CLICK, ORDER = (
    EventType.SERVED, EventType.VIEWABLE, EventType.CLICK, EventType.ORDER
)
_ids = itertools.count()


def ev(kind: EventType, ts: int = T0, **fields: object) -> Event:
    fields.setdefault("gig", "g-1")
    return Event(id=f"e-{next(_ids):06d}", type=kind, ts=ts, **fields)  # type: ignore[arg-type]


def shown(imp: str = "i-1", ts: int = T0, **fields: object) -> Event:
    fields.setdefault("surface", Surface.SEARCH)
    return ev(SERVED, ts, imp=imp, **fields)


def run(*batches: list[Event]) -> tuple[Stored, list[BatchPlan]]:
    """Plan batch after batch, keeping what each writes as the next one's stored state."""
    stored = Stored()
    plans = []
    for batch in batches:
        wanted = needs(batch)
        stored.add_contexts((), wanted.context_days)
        todo = plan_batch(batch, stored)
        if todo.more:
            stored.add_variants((), todo.more.variant_days)
            stored.add_contexts((), todo.more.context_days)
            todo = plan_batch(batch, stored)
        assert not todo.more
        stored.impressions.update(todo.impressions)
        for gig, day, variant in todo.admitted_variants:
            stored.variants.setdefault((gig, day), set()).add(variant)
        for gig, day, context in todo.admitted:
            stored.contexts.setdefault((gig, day), set()).add(context)
        plans.append(todo)
    return stored, plans


def summed(plans: list[BatchPlan]) -> tuple[dict[RollupKey, Counts], dict[SplitKey, Tally]]:
    rollups: dict[RollupKey, Counts] = {}
    splits: dict[SplitKey, Tally] = {}
    for todo in plans:
        for key, counts in todo.rollups.items():
            rollups.setdefault(key, Counts()).add(counts)
        for split, tally in todo.splits.items():
            splits.setdefault(split, Tally()).add(tally)
    return ({k: v for k, v in rollups.items() if not v.is_zero()},
            {k: v for k, v in splits.items() if not v.is_zero()})


def test_order_with_known_impression_counts_in_its_bucket_surface_context_variant_device() -> None:
    later = T0 + 5 * HOUR
    _, plans = run(
        [shown(context="logo", variant="B", device=Device.MOBILE)],
        [ev(ORDER, later, imp="i-1", value=12.5, currency="USD", device=Device.DESKTOP)],
    )
    order = plans[1]
    assert order.rollups == {RollupKey("g-1", T0, Surface.SEARCH): Counts(orders=1)}
    assert order.contexts == {ContextKey("g-1", T0, Surface.SEARCH, "logo"): Counts(orders=1)}
    assert order.splits == {
        SplitKey("g-1", T0, VARIANT, "B"): Tally(orders=1),
        SplitKey("g-1", T0, DEVICE, "mobile"): Tally(orders=1),
        SplitKey("g-1", T0, CURRENCY, "USD"): Tally(orders=1, amount=12_500),
    }


def test_order_never_makes_its_impression_seen() -> None:
    stored, plans = run([shown()], [ev(ORDER, imp="i-1")])
    state = stored.impressions["i-1\x1fg-1"]
    assert (state.viewable, state.clicked, state.orders) == (False, False, 1)
    rollups, _ = summed(plans)
    assert rollups == {RollupKey("g-1", T0, Surface.SEARCH): Counts(served=1, orders=1)}


def test_order_without_or_with_unknown_imp_counts_for_the_gig_alone() -> None:
    at = T0 + 2 * HOUR + 1
    _, plans = run([
        ev(ORDER, at, device=Device.TABLET, value=3, currency="EUR"),
        ev(ORDER, at, imp="never-shown"),
    ])
    todo = plans[0]
    bucket = at - at % BUCKET_MS
    assert todo.rollups == {RollupKey("g-1", bucket, Surface.OTHER): Counts(orders=2)}
    assert todo.impressions == {}  # an order makes no impression
    assert todo.contexts == {}
    assert todo.splits == {
        SplitKey("g-1", bucket, DEVICE, "tablet"): Tally(orders=1),
        SplitKey("g-1", bucket, DEVICE, "other"): Tally(orders=1),
        SplitKey("g-1", bucket, CURRENCY, "EUR"): Tally(orders=1, amount=3000),
    }


def test_order_after_its_impression_in_the_same_batch_is_attributed() -> None:
    _, plans = run([shown(surface=Surface.CATEGORY), ev(ORDER, T0 + 1, imp="i-1")])
    assert plans[0].rollups == {
        RollupKey("g-1", T0, Surface.CATEGORY): Counts(served=1, orders=1)
    }


def test_revenue_is_exact_in_thousandths() -> None:
    _, plans = run([ev(ORDER, value=0.1, currency="USD") for _ in range(10)]
                   + [ev(ORDER, value=1e12, currency="JPY")])
    _, splits = summed(plans)
    assert splits[SplitKey("g-1", T0, CURRENCY, "USD")] == Tally(orders=10, amount=1000)
    assert splits[SplitKey("g-1", T0, CURRENCY, "JPY")] == Tally(orders=1, amount=10**15)


def test_variant_and_device_come_from_the_served_event() -> None:
    _, plans = run(
        [shown(variant="A", device=Device.DESKTOP)],
        [ev(VIEWABLE, imp="i-1", device=Device.MOBILE), ev(CLICK, imp="i-1",
                                                          surface=Surface.SEARCH)],
    )
    _, splits = summed(plans)
    assert splits == {
        SplitKey("g-1", T0, VARIANT, "A"): Tally(served=1, viewable=1, clicks=1),
        SplitKey("g-1", T0, DEVICE, "desktop"): Tally(served=1, viewable=1, clicks=1),
    }


def test_a_served_that_arrives_late_moves_the_impression_to_its_variant_and_device_once() -> None:
    _, plans = run(
        [ev(VIEWABLE, imp="i-1", device=None), ev(ORDER, imp="i-1")],
        [shown(variant="B", device=Device.TABLET)],
        [shown(variant="C", device=Device.MOBILE)],  # another served of it: no second move
    )
    rollups, splits = summed(plans)
    assert splits == {
        SplitKey("g-1", T0, VARIANT, "B"): Tally(served=1, viewable=1, orders=1),
        SplitKey("g-1", T0, DEVICE, "tablet"): Tally(served=1, viewable=1, orders=1),
    }
    # The surface moved with it, the order too.
    assert rollups == {RollupKey("g-1", T0, Surface.SEARCH): Counts(served=1, viewable=1,
                                                                   orders=1)}


def test_impressions_without_a_variant_have_no_variant_row_but_a_device_row() -> None:
    _, plans = run([shown()])
    assert plans[0].splits == {SplitKey("g-1", T0, DEVICE, "other"): Tally(served=1)}


def test_variants_past_the_daily_cap_are_summed_under_other_whatever_the_batches() -> None:
    names = [f"v{n:02d}" for n in range(VARIANTS_PER_DAY + 5)]
    events = [shown(f"i-{n}", variant=name) for n, name in enumerate(names)]
    one = summed(run(events)[1])[1]
    split = summed(run(*[[e] for e in reversed(events)])[1])[1]
    kept = {k.key for k in one if k.kind == VARIANT}
    assert kept == set(names[:VARIANTS_PER_DAY]) | {OTHER_VARIANT}
    assert one[SplitKey("g-1", T0, VARIANT, OTHER_VARIANT)].served == 5
    # Batched one by one in another order, the first 20 seen are kept; totals still agree.
    assert sum(t.served for k, t in split.items() if k.kind == VARIANT) == len(names)
    assert len({k.key for k in split if k.kind == VARIANT}) == VARIANTS_PER_DAY + 1


def test_variant_cap_is_per_utc_day() -> None:
    kept: dict[tuple[str, int], set[str]] = {("g-1", T0 // DAY_MS): {f"x{n}" for n in range(20)}}
    delta = {
        SplitKey("g-1", T0, VARIANT, "new"): Tally(served=1),
        SplitKey("g-1", T0 + DAY_MS, VARIANT, "new"): Tally(served=1),
    }
    bounded, admitted = bound_variants(delta, kept)
    assert bounded == {
        SplitKey("g-1", T0, VARIANT, OTHER_VARIANT): Tally(served=1),
        SplitKey("g-1", T0 + DAY_MS, VARIANT, "new"): Tally(served=1),
    }
    assert admitted == {("g-1", T0 // DAY_MS + 1, "new")}


def test_a_plan_asks_for_kept_variants_of_its_days_before_writing() -> None:
    todo = plan_batch([shown(variant="A")], Stored(contexts={}))
    assert todo.more.variant_days == {("g-1", T0 // DAY_MS)}
    assert todo.events == []


def test_invalid_orders_count_nothing() -> None:
    _, plans = run([shown(), ev(ORDER, imp="i-1", invalid="unsigned", value=5, currency="USD")])
    rollups, splits = summed(plans)
    assert rollups == {RollupKey("g-1", T0, Surface.SEARCH): Counts(served=1)}
    assert SplitKey("g-1", T0, CURRENCY, "USD") not in splits


def test_orders_without_imp_are_not_looked_up_as_impressions() -> None:
    wanted = needs([ev(ORDER), ev(ORDER, imp="i-9")])
    assert wanted.impressions == {"i-9\x1fg-1": "g-1"}
