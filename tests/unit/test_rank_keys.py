"""The fast per-order sort keys of rankings equal `rank_key`, the documented order."""

from __future__ import annotations

import random

import pytest

from server.counting.metrics import Metrics, Order, RankKey, rank_keys

_RATES = frozenset({Order.CTR, Order.VIEWABLE_CTR, Order.VIEWABILITY_RATE})


def rank_key(order: Order, gig: str, metrics: Metrics) -> RankKey:
    """The order's value descending, nulls last, then clicks descending, then gig id
    ascending; average position is best (smallest) first. Slow: it looks the field up."""
    if order in _RATES:
        found: float | None = getattr(metrics, order.value)
        return (found is None, -(found or 0.0), -metrics.clicks, gig)
    if order is Order.AVERAGE_POSITION:
        position = metrics.average_position
        return (position is None, position or 0.0, -metrics.clicks, gig)
    value: int = getattr(metrics, order.value)
    return (-value, -metrics.clicks, gig)


def random_metrics(rng: random.Random) -> Metrics:
    served = rng.choice([0, 0, 1, 2, 3, 7, 1000])
    viewable = rng.randint(0, served)
    clicks = rng.randint(0, viewable)
    count = rng.choice([0, served])
    return Metrics(served, viewable, clicks, rng.randint(0, 3), count * rng.randint(1, 9), count)


@pytest.mark.parametrize("order", list(Order))
def test_fast_keys_equal_rank_key(order: Order) -> None:
    rng = random.Random(order.value)
    key = rank_keys(order)
    for n in range(2_000):
        gig, m = f"g-{n % 50}", random_metrics(rng)
        fast, slow = key(gig, m), rank_key(order, gig, m)
        assert fast == slow and [type(x) for x in fast] == [type(x) for x in slow], (m, fast)
