"""Listing experiments' statistics (SPEC §7): known values of the mSPRT, and by simulation the
false alarms of a seller who looks every day."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.counting.experiments import (
    ALPHA,
    TAU,
    Arm,
    Comparison,
    Verdict,
    baseline_of,
    compare,
    compare_variants,
    ctr,
    in_words,
    interval,
    likelihood_ratio,
    p_value,
)

# --- known values -------------------------------------------------------------------------


def test_the_likelihood_ratio_of_a_worked_example() -> None:
    # 20 of 1,000 against 40 of 1,000, tau = 0.01, by hand: s² = .02·.98/1000 + .04·.96/1000
    # = 5.8e-5; sqrt(5.8e-5 / 1.58e-4) = 0.605879; exponent 1e-4 · .02² / (2 · 5.8e-5 ·
    # 1.58e-4) = 2.182453, e^ = 8.86817; Λ = 5.37295.
    assert likelihood_ratio(Arm(1000, 20), Arm(1000, 40)) == pytest.approx(5.37295, rel=1e-5)
    # A fixed-horizon z-test would call this significant (z = 2.63, p = 0.009); one that
    # survives daily peeking does not, yet: p = 1/5.37 = 0.186.
    assert p_value([(Arm(1000, 20), Arm(1000, 40))]) == pytest.approx(0.186117, rel=1e-5)


def test_the_likelihood_ratio_with_unequal_arms() -> None:
    # 50 of 2,000 against 20 of 500: s² = .025·.975/2000 + .04·.96/500 = 8.89875e-5;
    # sqrt(8.89875e-5 / 1.889875e-4) = 0.686196; exponent 2.25e-8 / 3.363504e-8 = 0.668945.
    expected = 0.686196 * math.exp(0.668945)
    assert likelihood_ratio(Arm(2000, 50), Arm(500, 20)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("n", "clicks_a", "clicks_b"), [(100, 1, 5), (1000, 20, 40), (5000, 100, 300), (400, 12, 12)]
)
def test_equal_arms_give_the_papers_formula(n: int, clicks_a: int, clicks_b: int) -> None:
    # Johari et al.: Λ_n = sqrt(V / (V + nτ²)) · exp(n²τ²θ̂² / (2V(V + nτ²))) for n pairs.
    pa, pb = clicks_a / n, clicks_b / n
    v, tau2 = pa * (1 - pa) + pb * (1 - pb), TAU**2
    paper = math.sqrt(v / (v + n * tau2)) * math.exp(
        n**2 * tau2 * (pb - pa) ** 2 / (2 * v * (v + n * tau2))
    )
    assert likelihood_ratio(Arm(n, clicks_a), Arm(n, clicks_b)) == pytest.approx(paper)


def test_the_interval_of_the_worked_example() -> None:
    # Half-width sqrt(s²(s² + τ²)/τ² · (2 ln 20 + ln((s² + τ²)/s²))) = sqrt(9.164e-5 ·
    # (5.991465 + 1.002150)) = 0.025316 around θ̂ = 0.02.
    low, high = interval([(Arm(1000, 20), Arm(1000, 40))])  # type: ignore[misc]
    assert (low, high) == (pytest.approx(-0.005316, abs=1e-6), pytest.approx(0.045316, abs=1e-6))
    found = compare([(Arm(1000, 20), Arm(1000, 40))])
    assert found.ctr_change == pytest.approx(100.0)
    assert found.ctr_change_interval == (pytest.approx(-26.58, abs=0.01),
                                         pytest.approx(226.58, abs=0.01))
    assert (found.significant, found.verdict) == (False, Verdict.TOO_EARLY)


def test_no_difference_gives_a_ratio_below_one() -> None:
    assert likelihood_ratio(Arm(5000, 150), Arm(5000, 150)) < 1
    assert p_value([(Arm(5000, 150), Arm(5000, 150))]) == 1.0


def test_a_clear_difference_is_significant() -> None:
    # 2 % against 6 % CTR on 5,000 impressions each (SPEC §7's example of a clear one).
    found = compare([(Arm(5000, 100), Arm(5000, 300))])
    assert found.significant and found.verdict is Verdict.MORE_CLICKS
    assert found.p_value < 1e-10
    assert found.ctr == 6.0 and found.ctr_change == pytest.approx(200.0)
    low, high = found.ctr_change_interval  # type: ignore[misc]
    assert 100 < low < 200 < high < 300
    worse = compare([(Arm(5000, 300), Arm(5000, 100))])
    assert worse.significant and worse.verdict is Verdict.FEWER_CLICKS


@given(st.integers(100, 20_000), st.integers(1, 2_000), st.integers(100, 20_000),
       st.integers(1, 2_000))
def test_significant_exactly_when_no_difference_is_outside_the_interval(
    served_a: int, clicks_a: int, served_b: int, clicks_b: int
) -> None:
    looks = [(Arm(served_a, min(clicks_a, served_a)), Arm(served_b, min(clicks_b, served_b)))]
    found = interval(looks)
    if found is None:  # no variance: every impression clicked in both arms
        assert p_value(looks) == 1.0
        return
    low, high = found
    outside = not low < 0 < high
    near_edge = min(abs(low), abs(high)) < 1e-9
    assert near_edge or outside is (p_value(looks) <= ALPHA)


# --- too few to tell ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "variant"),
    [(Arm(99, 1), Arm(10_000, 900)), (Arm(10_000, 900), Arm(99, 50)),
     (Arm(10_000, 0), Arm(10_000, 900)), (Arm(10_000, 900), Arm(10_000, 0)),
     (Arm(0, 0), Arm(0, 0))],
)
def test_below_the_minimum_nothing_is_significant(baseline: Arm, variant: Arm) -> None:
    found = compare([(baseline, variant)])
    assert (found.p_value, found.significant, found.verdict) == (1.0, False, Verdict.TOO_EARLY)
    assert found.ctr_change_interval is None


def test_a_variant_without_impressions_has_no_ctr() -> None:
    assert ctr(Arm(0, 0)) is None
    found = compare([(Arm(1000, 30), Arm(0, 0))])
    assert (found.ctr, found.ctr_change) == (None, None)


def test_ctr_change_is_null_when_the_baselines_ctr_is_zero() -> None:
    assert compare([(Arm(1000, 0), Arm(1000, 30))]).ctr_change is None


def test_nothing_looked_at_is_too_early() -> None:
    assert compare([]).verdict is Verdict.TOO_EARLY


# --- looks over time ----------------------------------------------------------------------


def test_once_significant_a_later_look_does_not_take_it_back() -> None:
    # The seller who stopped when it looked good stopped on a valid verdict; the running
    # minimum keeps it, and the interval is the intersection of every look's.
    looks = [(Arm(5000, 100), Arm(5000, 300)), (Arm(10_000, 300), Arm(10_000, 330))]
    assert compare(looks[1:]).significant is False
    assert compare(looks).significant is True
    assert p_value(looks) == p_value(looks[:1])


def test_no_difference_so_far_needs_an_interval_within_20_percent() -> None:
    close = compare([(Arm(100_000, 3000), Arm(100_000, 3010))])
    assert close.verdict is Verdict.NO_DIFFERENCE
    low, high = close.ctr_change_interval  # type: ignore[misc]
    assert -20 <= low < 0 < high <= 20
    # The same CTRs on 2,000 impressions: a 20 % change may still hide there.
    small = compare([(Arm(2000, 60), Arm(2000, 60))])
    assert small.verdict is Verdict.TOO_EARLY and small.significant is False


# --- baseline and words -------------------------------------------------------------------


def test_the_baseline_is_the_one_named_else_the_most_served() -> None:
    served = {"A": 500, "B": 900, "C": 900}
    assert baseline_of(served, "A") == "A"
    assert baseline_of(served) == "B"  # a tie goes to the first name
    assert baseline_of(served, "Z") == "B"  # a name not seen in the window
    assert baseline_of({}) is None


def test_every_variant_is_compared_with_the_baseline() -> None:
    series = {
        "A": [Arm(2500, 50), Arm(5000, 100)],
        "B": [Arm(2500, 150), Arm(5000, 300)],
        "C": [Arm(20, 1), Arm(40, 2)],
    }
    rows = compare_variants(series)
    assert rows["A"] == Comparison(2.0, None, None, 1.0, False, Verdict.BASELINE)
    assert rows["B"].verdict is Verdict.MORE_CLICKS
    assert rows["C"].verdict is Verdict.TOO_EARLY
    flipped = compare_variants(series, baseline="B")
    assert flipped["B"].verdict is Verdict.BASELINE
    assert flipped["A"].verdict is Verdict.FEWER_CLICKS


@pytest.mark.parametrize(
    ("verdict", "words"),
    [
        (Verdict.MORE_CLICKS, "B gets more clicks — this is not chance"),
        (Verdict.FEWER_CLICKS, "B gets fewer clicks — this is not chance"),
        (Verdict.NO_DIFFERENCE, "no difference so far"),
        (Verdict.TOO_EARLY, "too early to tell"),
        (Verdict.BASELINE, "the baseline"),
    ],
)
def test_the_verdict_in_plain_words(verdict: Verdict, words: str) -> None:
    assert in_words("B", Comparison(3.0, 10.0, None, 0.5, False, verdict)) == words


# --- simulations --------------------------------------------------------------------------

DAYS = 30
EXPERIMENTS = 600


def binomial(rng: random.Random, n: int, p: float) -> int:
    """Successes in `n` trials: jumps from one success to the next (geometric gaps), so the
    cost is the number of successes, not of trials."""
    count = at = 0
    log_miss = math.log1p(-p)
    while True:
        at += int(math.log(1.0 - rng.random()) / log_miss) + 1
        if at > n:
            return count
        count += 1


def daily_looks(rng: random.Random, ctr_a: float, ctr_b: float) -> list[tuple[Arm, Arm]]:
    """Thirty days of one experiment, as cumulative counts after each day."""
    a = b = Arm(0, 0)
    looks = []
    for _ in range(DAYS):
        served_a, served_b = rng.randint(50, 400), rng.randint(50, 400)
        a = Arm(a.served + served_a, a.clicks + binomial(rng, served_a, ctr_a))
        b = Arm(b.served + served_b, b.clicks + binomial(rng, served_b, ctr_b))
        looks.append((a, b))
    return looks


def naive_z_significant(baseline: Arm, variant: Arm) -> bool:
    """A fixed-horizon two-proportion z-test at 5 %: right for one look, not for thirty."""
    pa, pb = baseline.clicks / baseline.served, variant.clicks / variant.served
    var = pa * (1 - pa) / baseline.served + pb * (1 - pb) / variant.served
    return var > 0 and abs(pb - pa) / math.sqrt(var) > 1.959964


def test_a_seller_who_looks_every_day_for_30_days_rarely_sees_a_false_difference() -> None:
    rng = random.Random(20260517)
    false_alarms = naive_alarms = 0
    for _ in range(EXPERIMENTS):
        rate = rng.uniform(0.01, 0.08)  # the same CTR in both arms: no real difference
        looks = daily_looks(rng, rate, rate)
        # Stopping on the first day that says "significant" is asking on day 30 with every
        # day a look: the p-value is the running minimum over the looks.
        false_alarms += compare(looks).significant
        naive_alarms += any(naive_z_significant(*look) for look in looks
                            if min(look[0].clicks, look[1].clicks) >= 1)
    rate_seen = false_alarms / EXPERIMENTS
    naive_rate = naive_alarms / EXPERIMENTS
    print(f"false 'significant' within 30 daily looks: mSPRT {rate_seen:.1%}, "
          f"fixed-horizon z-test {naive_rate:.1%} ({EXPERIMENTS} experiments)")
    assert rate_seen <= 0.07
    # The simulation can tell a test that does not survive peeking: the z-test's rate.
    assert naive_rate > 0.15


def test_a_real_50_percent_lift_is_found_within_30_days_most_of_the_time() -> None:
    rng = random.Random(7)
    found = sum(compare(daily_looks(rng, 0.03, 0.045)).significant for _ in range(200))
    print(f"3 % against 4.5 % CTR, about 6,750 impressions an arm: found in {found / 200:.0%}")
    assert found / 200 >= 0.8
