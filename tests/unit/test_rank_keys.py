"""The fast per-order sort keys of rankings equal `rank_key`, the documented order."""

from __future__ import annotations

import random

import pytest

from server.counting.metrics import Metrics
from server.service import Order, rank_key, rank_keys


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
