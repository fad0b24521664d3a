"""The insights report's statistics (`ato.analyst.stats`) against hand-computed values and
independent implementations (scipy, numpy, sklearn), without a JVM."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import pearsonr
from scipy.stats.contingency import relative_risk
from sklearn.metrics import average_precision_score

from ato.analyst.stats import (
    ab_duration_days,
    ab_sample_size,
    bootstrap_mean_diff,
    correlation,
    lift,
    pr_auc,
    proportion_ci,
    recall_at_budget,
    robust_z,
)

pytestmark = pytest.mark.unit
Z95 = 1.959963984540054


# --- lift ---------------------------------------------------------------------------------------

def test_lift_katz_interval_by_hand() -> None:
    # 30/200 vs 10/400: RR = 0.15 / 0.025 = 6, SE(log RR) = sqrt(1/30 - 1/200 + 1/10 - 1/400)
    r = lift(30, 200, 10, 400)
    se = math.sqrt(1 / 30 - 1 / 200 + 1 / 10 - 1 / 400)
    assert r.value == pytest.approx(6.0)
    assert (r.rate_a, r.rate_b, r.n_a, r.n_b) == (0.15, 0.025, 200, 400)
    assert r.low == pytest.approx(6 * math.exp(-Z95 * se))
    assert r.high == pytest.approx(6 * math.exp(Z95 * se))
    assert (round(r.low, 3), round(r.high, 3)) == (2.994, 12.025)


def test_lift_matches_scipy_relative_risk() -> None:
    for cells in [(30, 200, 10, 400), (7, 91, 15, 60), (120, 5000, 45, 5200)]:
        ours = lift(*cells, level=0.9)
        ref = relative_risk(*cells)
        ci = ref.confidence_interval(0.9)
        assert ours.value == pytest.approx(ref.relative_risk)
        assert (ours.low, ours.high) == pytest.approx((ci.low, ci.high))


def test_lift_haldane_correction_for_interval_only() -> None:
    # pos_b = 0: the value is inf; the interval uses 5.5/51 over 0.5/51 (RR' = 11)
    r = lift(5, 50, 0, 50)
    assert r.value == math.inf
    se = math.sqrt(1 / 5.5 - 1 / 51 + 1 / 0.5 - 1 / 51)
    assert r.low == pytest.approx(11 * math.exp(-Z95 * se))
    assert r.high == pytest.approx(11 * math.exp(Z95 * se))
    assert r.low < 1 < r.high
    # a full group (n_a - pos_a = 0) is a zero cell too: corrected, finite bounds
    full = lift(10, 10, 5, 10)
    assert full.value == pytest.approx(2.0)
    assert math.isfinite(full.low) and math.isfinite(full.high) and full.low < 2.0 < full.high
    both = lift(0, 10, 0, 10)
    assert math.isnan(both.value) and both.low < 1 < both.high


@pytest.mark.parametrize("cells", [(1, 0, 1, 10), (1, 10, 1, -1), (11, 10, 1, 10), (1, 10, 11, 10), (-1, 10, 1, 10)])
def test_lift_rejects_bad_counts(cells: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError):
        lift(*cells)


# --- correlation --------------------------------------------------------------------------------

def test_correlation_equals_corrcoef_and_fisher_interval() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=50)
    y = 0.5 * x + rng.normal(size=50)
    c = correlation(x, y)
    assert c.n == 50
    assert c.value == pytest.approx(np.corrcoef(x, y)[0, 1])
    ci = pearsonr(x, y).confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((ci.low, ci.high))
    assert c.low < c.value < c.high


def test_correlation_interval_narrows_with_n() -> None:
    rng = np.random.default_rng(2)
    widths = []
    for n in (30, 300, 3000):
        x = rng.normal(size=n)
        c = correlation(x, 0.3 * x + rng.normal(size=n))
        assert c.low < c.value < c.high
        widths.append(c.high - c.low)
    assert widths[0] > widths[1] > widths[2]


def test_correlation_of_binary_arrays_is_phi() -> None:
    # 2x2 table a=20 (1,1), b=10 (1,0), c=5 (0,1), d=65 (0,0): phi = (ad - bc) / sqrt(row and column totals)
    x = np.r_[np.ones(30), np.zeros(70)]
    y = np.r_[np.ones(20), np.zeros(10), np.ones(5), np.zeros(65)]
    phi = (20 * 65 - 10 * 5) / math.sqrt(30 * 70 * 25 * 75)
    assert correlation(x, y).value == pytest.approx(phi)


def test_correlation_degenerate_is_nan_and_nan_pairs_dropped() -> None:
    for x, y in [([1, 2, 3], [3, 1, 2]), ([1, 1, 1, 1, 1], [1, 2, 3, 4, 5]), ([1, 2, 3, 4, 5], [2, 2, 2, 2, 2])]:
        c = correlation(x, y)
        assert math.isnan(c.value) and math.isnan(c.low) and math.isnan(c.high)
    c = correlation([1, 2, np.nan, 3, 4, 5], [2, 1, 9, 4, 3, 5])
    assert c.n == 5
    assert c.value == pytest.approx(np.corrcoef([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])[0, 1])
    perfect = correlation([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert (perfect.value, perfect.low, perfect.high) == pytest.approx((1.0, 1.0, 1.0))


# --- robust_z -----------------------------------------------------------------------------------

def test_robust_z_by_hand_with_outlier_and_nan() -> None:
    # median 3, |x - 3| = [2, 1, 1, 0, 97] -> MAD 1, so z = 0.6745 * (x - 3)
    z = robust_z([1, 2, np.nan, 3, 4, 100])
    assert math.isnan(z[2])
    expected = [-1.349, -0.6745, 0.0, 0.6745, 65.4265]
    assert np.delete(z, 2) == pytest.approx(expected)
    assert z[-1] > 3.5  # the outlier is flagged by the usual 3.5 cut; the rest are not
    assert (np.abs(np.delete(z, [2, 5])) < 3.5).all()


def test_robust_z_mad_zero_falls_back_to_mean_abs_deviation() -> None:
    # median 5, |x - 5| = [0, 0, 0, 0, 4] -> MAD 0, MeanAD 0.8 -> z = (x - 5) / (1.2533 * 0.8)
    z = robust_z([5, 5, 5, 5, 9])
    assert z == pytest.approx([0, 0, 0, 0, 4 / 1.00264])
    assert list(robust_z([3, 3, 3])) == [0.0, 0.0, 0.0]
    assert np.isnan(robust_z([np.nan, np.nan])).all()


# --- proportion_ci ------------------------------------------------------------------------------

def test_wilson_known_values_and_edges() -> None:
    ci = proportion_ci(8, 10)
    assert ci.value == 0.8 and ci.n == 10
    assert (round(ci.low, 3), round(ci.high, 3)) == (0.490, 0.943)
    zero = proportion_ci(0, 10)  # upper bound z²/n / (1 + z²/n) = 0.2775
    assert zero.value == 0.0 and zero.low == 0.0 and zero.high == pytest.approx(0.27753, abs=1e-5)
    full = proportion_ci(10, 10)
    assert full.high == 1.0 and full.low == pytest.approx(1 - 0.27753, abs=1e-5)
    assert proportion_ci(8, 10, level=0.99).low < ci.low


@pytest.mark.parametrize(("k", "n"), [(0, 0), (-1, 10), (11, 10)])
def test_wilson_rejects_bad_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError):
        proportion_ci(k, n)


# --- A/B sizing ---------------------------------------------------------------------------------

def test_ab_sample_size_textbook_value() -> None:
    # 5% vs 6%, alpha 0.05 two-sided, power 0.8: the pooled/unpooled normal-approximation formula
    # (Fleiss, Statistical Methods for Rates and Proportions, without continuity correction) gives
    # (1.95996·sqrt(2·0.055·0.945) + 0.84162·sqrt(0.05·0.95 + 0.06·0.94))² / 0.01² = 8157.8 -> 8158
    assert ab_sample_size(0.05, 0.2) == 8158
    assert ab_sample_size(0.06, -1 / 6) == 8158  # the same two proportions, the other way round
    assert ab_sample_size(0.05, 0.2, two_sided=False) < 8158
    assert ab_sample_size(0.05, 0.2, power=0.9) > 8158
    assert ab_sample_size(0.05, 0.4) < 8158 / 3


@pytest.mark.parametrize(("p", "rel"), [(0.0, 0.2), (1.0, 0.2), (0.05, 0.0), (0.6, 0.8), (0.05, -1.0)])
def test_ab_sample_size_rejects(p: float, rel: float) -> None:
    with pytest.raises(ValueError):
        ab_sample_size(p, rel)


def test_ab_duration_days() -> None:
    assert ab_duration_days(8158, 1000) == 17  # 500 per arm per day: 16.3 days
    assert ab_duration_days(8158, 1000, share_in_test=0.5) == 33
    assert ab_duration_days(500, 1000) == 1  # exactly one day, not two
    assert ab_duration_days(1000, 100, share_in_test=0.1, arms=3) == 300
    assert ab_duration_days(245, 700, share_in_test=0.7) == 1  # 700 · 0.7 = 489.99999999999994 in floating point
    for bad in [dict(daily_units=0.0), dict(daily_units=-5.0), dict(daily_units=100.0, share_in_test=0.0)]:
        with pytest.raises(ValueError):
            ab_duration_days(100, **bad)  # type: ignore[arg-type]


# --- bootstrap ----------------------------------------------------------------------------------

def test_bootstrap_mean_diff_covers_truth_and_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(100, 10, size=60)  # shared day effect, removed by pairing
    a = base + 2.0 + rng.normal(0, 1, size=60)
    b = base + rng.normal(0, 1, size=60)
    r = bootstrap_mean_diff(a, b)
    assert r.n == 60
    assert r.value == pytest.approx(float(np.mean(a - b)))
    assert r.low < 2.0 < r.high
    se = float(np.std(a - b, ddof=1)) / math.sqrt(60)
    assert r.high - r.low == pytest.approx(2 * Z95 * se, rel=0.2)
    assert bootstrap_mean_diff(a, b) == r
    assert bootstrap_mean_diff(a, b, seed=8) != r


def test_bootstrap_is_the_percentile_interval_of_resampled_days() -> None:
    # the documented procedure written out: resample day indices with default_rng(seed), take the
    # 2.5% and 97.5% quantiles of the resampled mean differences (5% and 95% at level 0.9)
    a, b = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]), np.array([2.0, 7.0, 1.0, 8.0, 2.0, 8.0, 1.0, 8.0])
    means = (a - b)[np.random.default_rng(11).integers(0, 8, size=(500, 8))].mean(axis=1)
    r95 = bootstrap_mean_diff(a, b, resamples=500, seed=11)
    assert (r95.low, r95.high) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))
    r90 = bootstrap_mean_diff(a, b, resamples=500, level=0.9, seed=11)
    assert (r90.low, r90.high) == pytest.approx(tuple(np.quantile(means, [0.05, 0.95])))
    assert r95.value == r90.value == pytest.approx(-0.75)


def test_bootstrap_edges() -> None:
    const = bootstrap_mean_diff([3.0, 4.0, 5.0], [1.0, 2.0, 3.0])
    assert (const.value, const.low, const.high) == (2.0, 2.0, 2.0)
    one = bootstrap_mean_diff([1.5], [1.0])
    assert (one.value, one.low, one.high, one.n) == (0.5, 0.5, 0.5, 1)
    for a, b in [([], []), ([1.0, 2.0], [1.0]), ([1.0, np.nan], [1.0, 2.0])]:
        with pytest.raises(ValueError):
            bootstrap_mean_diff(a, b)


# --- ranking ------------------------------------------------------------------------------------

def test_pr_auc_by_hand_and_against_sklearn() -> None:
    # ranks 1, 0, 1, 0: precision 1 at recall 0.5, 2/3 at recall 1 -> 0.5·1 + 0.5·2/3
    assert pr_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 + 1 / 3)
    rng = np.random.default_rng(4)
    y = (rng.random(500) < 0.1).astype(int)
    score = np.round(rng.random(500) + 0.5 * y, 1)  # coarse scores: many ties
    assert pr_auc(y, score) == pytest.approx(average_precision_score(y, score))
    with pytest.raises(ValueError):
        pr_auc([0, 0, 0], [0.1, 0.2, 0.3])


def test_recall_at_budget_by_hand() -> None:
    neg = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    pos = [0.95, 0.75, 0.35]
    y, score = [1] * 3 + [0] * 10, pos + neg
    assert recall_at_budget(y, score, 0.2) == pytest.approx((2 / 3, 0.2))  # threshold 0.7: 0.95, 0.75 flagged
    assert recall_at_budget(y, score, 0.0) == pytest.approx((1 / 3, 0.0))  # threshold 0.9
    assert recall_at_budget(y, score, 0.25) == pytest.approx((2 / 3, 0.2))  # 2.5 negatives -> 2
    assert recall_at_budget(y, score, 0.7) == pytest.approx((1.0, 0.7))  # threshold 0.2
    assert recall_at_budget(y, score, 1.0) == (1.0, 1.0)


def test_recall_at_budget_ties_and_rounding() -> None:
    # three negatives tied at 0.5: a budget of 2 of 4 cannot split them, so none of them is flagged
    assert recall_at_budget([1, 1, 0, 0, 0, 0], [0.9, 0.5, 0.5, 0.5, 0.5, 0.1], 0.5) == (0.5, 0.0)
    # 0.29 · 100 is 28.999999999999996 in floating point: still 29 negatives may be flagged
    y = [1] + [0] * 100
    score = [0.5, *list(np.arange(100) / 100)]
    assert recall_at_budget(y, score, 0.29) == pytest.approx((0.0, 0.29))
    with pytest.raises(ValueError):
        recall_at_budget([1, 0], [0.2, 0.1], 1.5)
