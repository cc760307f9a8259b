"""Listing experiments: each variant's CTR against a baseline, with a verdict that stays
honest for a seller who looks every day and stops as soon as it looks good.

The test is the mixture sequential probability ratio test (mSPRT) of Johari, Pekelis and
Walsh, "Always Valid Inference: Continuous Monitoring of A/B Tests", Operations Research
70(3), 2022, in its normal approximation for the difference of two proportions. With
θ̂ = ctr_B - ctr_A (as fractions), its estimated variance s² = p̂_A(1 - p̂_A)/n_A +
p̂_B(1 - p̂_B)/n_B and a normal mixing distribution N(0, τ²) over the true difference, the
mixture likelihood ratio of "a difference" against "none" is

    Λ = sqrt(s² / (s² + τ²)) · exp(τ² θ̂² / (2 s² (s² + τ²)))

(with n_A = n_B = n this is the paper's sqrt(V/(V + nτ²)) · exp(n²τ²θ̂² / (2V(V + nτ²))),
V = p̂_A(1 - p̂_A) + p̂_B(1 - p̂_B)). Under no difference Λ is a nonnegative martingale, so
by Ville's inequality it ever reaches 1/alpha with probability at most alpha: p = min over the looks
so far of 1/Λ is an always-valid p-value, whenever and however often one looks, and the
points θ where Λ(θ) < 1/alpha form a confidence sequence (an interval valid at every look).
`significant` is p ≤ 5 %, the same as 0 outside the interval.

Assumptions, and what they cost:
- impressions are independent, each clicked with its variant's fixed probability (a tile's
  CTR does not drift over the weeks; each impression is one trial, whoever saw it);
- the large-sample normal approximation of θ̂, with the variance estimated from the data
  so far: hence a minimum before any verdict (MIN_SERVED impressions and MIN_CLICKS clicks
  in each arm); below it the answer is "too early to tell" and `significant` is false;
- τ is fixed up front (TAU: one percentage point of CTR, the size of change a new
  thumbnail, price or headline makes to tiles clicked 1-10 % of the time), never tuned on
  the data; a larger τ detects large changes sooner and small ones later.
- each look's counts are cumulative from the same start (the variants shown side by side
  from then on); a window that has since dropped its first days is another experiment.

Pure: counts in, figures out (tests/unit/test_experiments.py checks known values and, by
simulation, the false-alarm rate of daily peeking).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

ALPHA = 0.05
TAU = 0.01
MIN_SERVED = 100
MIN_CLICKS = 1
# "No difference so far" needs the interval of the change to rule out more than this, in %
# either way; until then a difference that large may still be there: "too early to tell".
NO_DIFFERENCE_WITHIN_PCT = 20.0


class Arm(NamedTuple):
    """A variant's counts, cumulative from the start of what is compared."""

    served: int
    clicks: int
    viewable: int = 0
    orders: int = 0


class Verdict(StrEnum):
    """What the comparison says, in the dashboard's terms."""

    BASELINE = "baseline"
    MORE_CLICKS = "more_clicks"
    FEWER_CLICKS = "fewer_clicks"
    NO_DIFFERENCE = "no_difference"
    TOO_EARLY = "too_early"


@dataclass(frozen=True, slots=True)
class Comparison:
    """One variant against the baseline, at the last look."""

    ctr: float | None  # % of served
    ctr_change: float | None  # relative change of ctr against the baseline's, in %
    # The always-valid interval of ctr_change, in %: the difference's confidence sequence
    # over the baseline's CTR (its own uncertainty left out). None without a verdict.
    ctr_change_interval: tuple[float, float] | None
    p_value: float  # always valid; 1.0 before the minimum
    significant: bool
    verdict: Verdict


def ctr(arm: Arm) -> float | None:
    """Clicks per 100 served; None without impressions."""
    return arm.clicks / arm.served * 100 if arm.served else None


def enough(arm: Arm) -> bool:
    """Whether an arm has the minimum sample for the normal approximation."""
    return arm.served >= MIN_SERVED and arm.clicks >= MIN_CLICKS


def likelihood_ratio(baseline: Arm, variant: Arm, theta: float = 0.0, tau: float = TAU) -> float:
    """The mSPRT mixture likelihood ratio against "the difference is `theta`" at one look
    (inf when it is beyond what a float holds; 1.0 when the data have no variance)."""
    diff, var = _difference(baseline, variant)
    if var == 0.0:
        return 1.0
    tau2 = tau * tau
    exponent = tau2 * (diff - theta) ** 2 / (2 * var * (var + tau2))
    log_ratio = 0.5 * math.log(var / (var + tau2)) + exponent
    return math.exp(log_ratio) if log_ratio < 700 else math.inf


def p_value(looks: Sequence[tuple[Arm, Arm]], tau: float = TAU) -> float:
    """The always-valid p-value after these looks at (baseline, variant): min of 1/Λ over
    the looks that had the minimum sample (skipping looks only makes it more careful)."""
    p = 1.0
    for baseline, variant in looks:
        if enough(baseline) and enough(variant):
            p = min(p, 1.0 / likelihood_ratio(baseline, variant, tau=tau))
    return p


def interval(
    looks: Sequence[tuple[Arm, Arm]], tau: float = TAU, alpha: float = ALPHA
) -> tuple[float, float] | None:
    """The confidence sequence of ctr_B - ctr_A (fractions), intersected over the looks
    with the minimum sample; None before the first."""
    low, high = -math.inf, math.inf
    seen = False
    tau2 = tau * tau
    for baseline, variant in looks:
        if not (enough(baseline) and enough(variant)):
            continue
        diff, var = _difference(baseline, variant)
        if var == 0.0:
            continue
        # Λ(θ) < 1/alpha solved for θ: |θ̂ - θ| below this half-width.
        half = math.sqrt(
            var * (var + tau2) / tau2 * (2 * math.log(1 / alpha) + math.log((var + tau2) / var))
        )
        low, high = max(low, diff - half), min(high, diff + half)
        seen = True
    return (low, high) if seen else None


def compare(looks: Sequence[tuple[Arm, Arm]], tau: float = TAU) -> Comparison:
    """The variant against the baseline after these looks (cumulative counts, oldest first)."""
    if not looks:
        return Comparison(None, None, None, 1.0, False, Verdict.TOO_EARLY)
    baseline, variant = looks[-1]
    rate, base_rate = ctr(variant), ctr(baseline)
    change = None if not base_rate or rate is None else (rate / base_rate - 1) * 100
    p = p_value(looks, tau)
    found = interval(looks, tau)
    significant = p <= ALPHA
    if found is None or not base_rate:
        return Comparison(rate, change, None, p, significant, Verdict.TOO_EARLY)
    scale = 100 / (base_rate / 100)  # a difference of fractions as % of the baseline's CTR
    span = (found[0] * scale, found[1] * scale)
    if significant:
        verdict = Verdict.MORE_CLICKS if (change or 0) > 0 else Verdict.FEWER_CLICKS
    elif span[0] >= -NO_DIFFERENCE_WITHIN_PCT and span[1] <= NO_DIFFERENCE_WITHIN_PCT:
        verdict = Verdict.NO_DIFFERENCE
    else:
        verdict = Verdict.TOO_EARLY
    return Comparison(rate, change, span, p, significant, verdict)


def compare_variants(
    series: Mapping[str, Sequence[Arm]], baseline: str | None = None, tau: float = TAU
) -> dict[str, Comparison]:
    """Every variant against the baseline (`baseline_of`), from each variant's cumulative
    counts at the same looks (oldest first); the baseline's own row says BASELINE."""
    chosen = baseline_of({name: arms[-1].served for name, arms in series.items() if arms},
                         baseline)
    found: dict[str, Comparison] = {}
    for name, arms in series.items():
        if name == chosen or chosen is None:
            rate = ctr(arms[-1]) if arms else None
            found[name] = Comparison(rate, None, None, 1.0, False, Verdict.BASELINE)
        else:
            found[name] = compare(list(zip(series[chosen], arms, strict=True)), tau)
    return found


def baseline_of(served: Mapping[str, int], named: str | None = None) -> str | None:
    """The baseline variant: the one named if it was seen, else the most served (ties: the
    first name in order, so the answer never depends on reading order)."""
    if named is not None and named in served:
        return named
    if not served:
        return None
    return min(served, key=lambda name: (-served[name], name))


def in_words(variant: str, comparison: Comparison) -> str:
    """The verdict as the dashboard says it.

    - "<variant> gets more clicks — this is not chance" / "... fewer clicks ...": the
      always-valid p-value is at most 5 %;
    - "no difference so far": the minimum sample is there, the test found nothing, and its
      interval rules out a change of more than NO_DIFFERENCE_WITHIN_PCT % either way;
    - "too early to tell": below the minimum sample, or a change that large may still hide
      in the interval.
    """
    verdict = comparison.verdict
    if verdict is Verdict.MORE_CLICKS:
        return f"{variant} gets more clicks — this is not chance"
    if verdict is Verdict.FEWER_CLICKS:
        return f"{variant} gets fewer clicks — this is not chance"
    if verdict is Verdict.NO_DIFFERENCE:
        return "no difference so far"
    if verdict is Verdict.BASELINE:
        return "the baseline"
    return "too early to tell"


def _difference(baseline: Arm, variant: Arm) -> tuple[float, float]:
    """θ̂ = p̂_B - p̂_A and its estimated variance (unpooled: the interval needs it under
    any difference, and the test uses the same, so "significant" is "0 is outside")."""
    if not (baseline.served and variant.served):
        return 0.0, 0.0
    pa = baseline.clicks / baseline.served
    pb = variant.clicks / variant.served
    var = pa * (1 - pa) / baseline.served + pb * (1 - pb) / variant.served
    return pb - pa, var
