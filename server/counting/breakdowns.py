"""Pure: a gig's split rollups (`splits.py`) summed per day into what the API shows: each
listing variant against the baseline, devices, revenue per currency.

The variants' verdict takes the window's first day as the experiment's start: each day's
cumulative counts since then are one look of the sequential test (`experiments.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..model import Device
from .experiments import Arm, Comparison, Verdict, compare_variants, in_words
from .metrics import rate
from .splits import CURRENCY, DEVICE, OTHER_VARIANT, VARIANT, SplitRow, Tally


@dataclass(frozen=True, slots=True)
class VariantFigures:
    """One variant over the window, against the baseline."""

    variant: str
    tally: Tally
    is_baseline: bool
    comparison: Comparison | None  # None for OTHER_VARIANT, which is no single version
    verdict: str


@dataclass(frozen=True, slots=True)
class DeviceFigures:
    """A gig's impressions (and orders) shown on one kind of device over the window."""

    device: Device
    tally: Tally

    @property
    def ctr(self) -> float | None:
        """Clicks per 100 served."""
        return rate(self.tally.clicks, self.tally.served)

    @property
    def viewable_ctr(self) -> float | None:
        """Clicks per 100 viewable."""
        return rate(self.tally.clicks, self.tally.viewable)

    @property
    def viewability_rate(self) -> float | None:
        """Viewable per 100 served."""
        return rate(self.tally.viewable, self.tally.served)


@dataclass(frozen=True, slots=True)
class RevenueFigures:
    """Orders' value in one currency over the window (`thousandths` of its major unit)."""

    currency: str
    thousandths: int
    orders: int

    @property
    def amount(self) -> float:
        """The value in the currency's major unit."""
        return self.thousandths / 1000


def _summed(rows: Iterable[SplitRow], kind: str) -> dict[str, Tally]:
    sums: dict[str, Tally] = {}
    for row in rows:
        if row.kind == kind:
            sums.setdefault(row.key, Tally()).add(row.tally)
    return sums


def revenue(rows: Iterable[SplitRow]) -> list[RevenueFigures]:
    """One entry per currency with orders, the largest amount first."""
    sums = _summed(rows, CURRENCY)
    found = [RevenueFigures(c, t.amount, t.orders) for c, t in sums.items() if t.orders]
    return sorted(found, key=lambda r: (-r.thousandths, r.currency))


def devices(rows: Iterable[SplitRow]) -> list[DeviceFigures]:
    """One entry per device class, all four, zero-filled, in the enum's order."""
    sums = _summed(rows, DEVICE)
    return [DeviceFigures(d, sums.get(d.value, Tally())) for d in Device]


def variants(
    rows: Iterable[SplitRow], day_starts: Sequence[int], baseline: str | None = None
) -> list[VariantFigures]:
    """Every variant with impressions, the most served first, compared with the baseline
    (the one named if it was seen, else the most served) over daily cumulative looks."""
    index = {start: n for n, start in enumerate(day_starts)}
    daily: dict[str, list[Tally]] = {}
    for row in rows:
        if row.kind == VARIANT and row.start in index:
            days = daily.setdefault(row.key, [Tally() for _ in day_starts])
            days[index[row.start]].add(row.tally)
    series: dict[str, list[Arm]] = {}
    totals: dict[str, Tally] = {}
    for name, days in daily.items():
        total, arms = Tally(), []
        for day in days:
            total.add(day)
            arms.append(Arm(total.served, total.clicks, total.viewable, total.orders))
        if total.served or total.orders:
            totals[name] = total
            if name != OTHER_VARIANT:
                series[name] = arms
    compared = compare_variants(series, baseline)
    found = []
    for name, total in totals.items():
        comparison = compared.get(name)
        is_baseline = comparison is not None and comparison.verdict is Verdict.BASELINE
        words = "other variants" if comparison is None else in_words(name, comparison)
        found.append(VariantFigures(name, total, is_baseline, comparison, words))
    return sorted(found, key=lambda v: (-v.tally.served, v.variant == OTHER_VARIANT, v.variant))
