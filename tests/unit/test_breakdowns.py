"""Variants, devices and revenue from split rows (server/counting/breakdowns.py)."""

from __future__ import annotations

from server.counting.breakdowns import devices, revenue, variants
from server.counting.splits import CURRENCY, DEVICE, OTHER_VARIANT, VARIANT, SplitRow, Tally
from server.model import DAY_MS, Device

DAYS = [0, DAY_MS, 2 * DAY_MS]


def row(kind: str, key: str, day: int = 0, **counts: int) -> SplitRow:
    return SplitRow("g-1", DAYS[day], kind, key, Tally(**counts))


def test_variants_sum_their_days_most_served_first_and_the_other_row_is_never_compared() -> None:
    rows = [row(VARIANT, "A", 0, served=300, clicks=6), row(VARIANT, "A", 2, served=300, clicks=6),
            row(VARIANT, "B", 1, served=700, clicks=40, orders=2),
            row(VARIANT, OTHER_VARIANT, 1, served=900, clicks=1),
            row(DEVICE, "mobile", 0, served=5)]
    found = variants(rows, DAYS)
    assert [(v.variant, v.tally.served) for v in found] == [("", 900), ("B", 700), ("A", 600)]
    other, b, a = found
    assert other.comparison is None and not other.is_baseline
    assert b.is_baseline and b.tally.orders == 2
    assert a.comparison is not None and a.comparison.ctr_change is not None
    assert round(a.comparison.ctr_change, 6) == round((2 / (40 / 7) - 1) * 100, 6)


def test_a_named_baseline_that_was_not_seen_falls_back_to_the_most_served() -> None:
    rows = [row(VARIANT, "A", 0, served=10), row(VARIANT, "B", 0, served=20)]
    assert [v.is_baseline for v in variants(rows, DAYS, baseline="Z")] == [True, False]
    assert [v.is_baseline for v in variants(rows, DAYS, baseline="A")] == [False, True]


def test_rows_outside_the_window_days_are_left_out() -> None:
    outside = SplitRow("g-1", 5 * DAY_MS, VARIANT, "A", Tally(served=3))
    assert variants([outside], DAYS) == []


def test_devices_are_all_four_zero_filled_in_order() -> None:
    found = devices([row(DEVICE, "tablet", 0, served=2, viewable=1, clicks=1),
                     row(DEVICE, "tablet", 1, served=2)])
    assert [d.device for d in found] == list(Device)
    tablet = found[2]
    assert (tablet.tally.served, tablet.ctr, tablet.viewability_rate) == (4, 25.0, 25.0)
    assert found[0].ctr is None and found[0].viewable_ctr is None


def test_revenue_is_one_entry_per_currency_largest_first_in_the_major_unit() -> None:
    found = revenue([row(CURRENCY, "EUR", 0, orders=1, amount=5_000),
                     row(CURRENCY, "USD", 0, orders=1, amount=1_500),
                     row(CURRENCY, "USD", 2, orders=2, amount=4_001)])
    assert [(r.currency, r.amount, r.orders) for r in found] == [
        ("USD", 5.501, 3), ("EUR", 5.0, 1)
    ]
