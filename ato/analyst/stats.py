"""Small, pure statistics for the analysts' insights report: risk ratio with a Katz interval
(`lift`), Pearson/phi correlation with a Fisher-z interval (`correlation`), modified z-scores
(`robust_z`), the Wilson interval of a proportion (`proportion_ci`), A/B test sizing
(`ab_sample_size`, `ab_duration_days`), a paired bootstrap of a mean difference
(`bootstrap_mean_diff`) and ranking quality (`pr_auc`, `recall_at_budget`).

Every function takes plain numbers or arrays and returns numbers or frozen dataclasses; none reads
the lake. Intervals are two-sided at `level` (0.95 by default)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

ArrayLike = npt.ArrayLike


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Ratio:
    value: float
    low: float
    high: float
    rate_a: float
    rate_b: float
    n_a: int
    n_b: int


def _z(level: float) -> float:  # the normal quantile of a two-sided interval at `level`
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return float(norm.ppf(0.5 + level / 2))


def lift(pos_a: int, n_a: int, pos_b: int, n_b: int, level: float = 0.95) -> Ratio:
    """Risk ratio rate_a / rate_b of group a over group b, with the Katz log interval
    exp(log RR ± z·sqrt(1/pos_a - 1/n_a + 1/pos_b - 1/n_b)).

    When any of the four cells (pos_a, n_a - pos_a, pos_b, n_b - pos_b) is zero, 0.5 is added to
    each of them (Haldane-Anscombe) for the interval only; `value` stays the uncorrected ratio
    (inf when only rate_b is 0, NaN when both rates are 0)."""
    if n_a <= 0 or n_b <= 0:
        raise ValueError(f"group sizes must be positive, got n_a={n_a}, n_b={n_b}")
    if not (0 <= pos_a <= n_a and 0 <= pos_b <= n_b):
        raise ValueError(f"need 0 <= pos <= n, got {pos_a}/{n_a} and {pos_b}/{n_b}")
    rate_a, rate_b = pos_a / n_a, pos_b / n_b
    value = rate_a / rate_b if rate_b > 0 else (math.inf if rate_a > 0 else math.nan)
    a, na, b, nb = float(pos_a), float(n_a), float(pos_b), float(n_b)
    if 0 in (pos_a, n_a - pos_a, pos_b, n_b - pos_b):
        a, na, b, nb = a + 0.5, na + 1.0, b + 0.5, nb + 1.0
    log_rr = math.log((a / na) / (b / nb))
    half = _z(level) * math.sqrt(1 / a - 1 / na + 1 / b - 1 / nb)
    return Ratio(value, math.exp(log_rr - half), math.exp(log_rr + half), rate_a, rate_b, n_a, n_b)


def correlation(x: ArrayLike, y: ArrayLike, level: float = 0.95) -> Interval:
    """Pearson correlation of x and y with the Fisher-z interval tanh(atanh(r) ± z/sqrt(n - 3)).

    On two 0/1 arrays this is the phi coefficient. Pairs where either value is NaN are dropped
    and `n` counts the pairs used. With n < 4 or a constant input, value and bounds are NaN."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError(f"x and y must be 1-d and of equal length, got {xa.shape} and {ya.shape}")
    keep = ~(np.isnan(xa) | np.isnan(ya))
    xa, ya = xa[keep], ya[keep]
    n = int(xa.size)
    zc = _z(level)
    if n < 4 or np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return Interval(math.nan, math.nan, math.nan, n)
    dx, dy = xa - xa.mean(), ya - ya.mean()
    r = float(np.clip((dx @ dy) / math.sqrt(float(dx @ dx) * float(dy @ dy)), -1.0, 1.0))
    with np.errstate(divide="ignore"):
        fz = float(np.arctanh(r))
    half = zc / math.sqrt(n - 3)
    return Interval(r, math.tanh(fz - half), math.tanh(fz + half), n)


def robust_z(values: ArrayLike) -> npt.NDArray[np.float64]:
    """Modified z-scores (Iglewicz-Hoaglin): 0.6745·(x - median) / MAD, MAD the median absolute
    deviation from the median. When MAD is 0 the scale falls back to 1.2533·MeanAD, i.e.
    (x - median) / (1.2533·mean |x - median|); when that is 0 too, every score is 0.

    NaNs are ignored for the median and the spreads and stay NaN in the result."""
    x = np.asarray(values, dtype=float)
    out = np.full(x.shape, np.nan)
    finite = ~np.isnan(x)
    if not finite.any():
        return out
    med = float(np.median(x[finite]))
    dev = np.abs(x[finite] - med)
    mad = float(np.median(dev))
    if mad > 0:
        out[finite] = 0.6745 * (x[finite] - med) / mad
    else:
        mean_ad = float(dev.mean())
        out[finite] = (x[finite] - med) / (1.2533 * mean_ad) if mean_ad > 0 else 0.0
    return out


def proportion_ci(k: int, n: int, level: float = 0.95) -> Interval:
    """k/n with the Wilson score interval (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need n > 0 and 0 <= k <= n, got k={k}, n={n}")
    z = _z(level)
    p = k / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, center - half)  # the bounds at k = 0 and k = n are exactly 0 and 1
    high = 1.0 if k == n else min(1.0, center + half)
    return Interval(p, low, high, n)


def ab_sample_size(p_control: float, relative_change: float, alpha: float = 0.05, power: float = 0.8,
                   two_sided: bool = True) -> int:
    """Units per arm to detect p_treatment = p_control·(1 + relative_change), by the normal
    approximation with the pooled variance under H0 and the unpooled one under H1:
    n = (z_α·sqrt(2·p̄(1-p̄)) + z_β·sqrt(p1(1-p1) + p2(1-p2)))² / (p1 - p2)², p̄ = (p1 + p2)/2,
    z_α at 1 - α/2 when two-sided (1 - α otherwise), z_β at `power`; rounded up."""
    p1 = p_control
    p2 = p_control * (1 + relative_change)
    if not (0 < p1 < 1 and relative_change != 0 and 0 < p2 < 1 and 0 < alpha < 1 and 0 < power < 1):
        raise ValueError(f"need p_control and p_treatment in (0, 1), relative_change != 0, alpha and power in (0, 1); "
                         f"got p_control={p1}, p_treatment={p2}, alpha={alpha}, power={power}")
    z_a = float(norm.ppf(1 - alpha / 2 if two_sided else 1 - alpha))
    z_b = float(norm.ppf(power))
    pbar = (p1 + p2) / 2
    root = z_a * math.sqrt(2 * pbar * (1 - pbar)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root * root / (p1 - p2) ** 2 - 1e-9)


def ab_duration_days(n_per_arm: int, daily_units: float, share_in_test: float = 1.0, arms: int = 2) -> int:
    """Whole days until every arm holds n_per_arm units, traffic split evenly:
    ceil(n_per_arm·arms / (daily_units·share_in_test))."""
    if daily_units <= 0 or not 0 < share_in_test <= 1 or n_per_arm <= 0 or arms < 1:
        raise ValueError(f"need daily_units > 0, share_in_test in (0, 1], n_per_arm > 0, arms >= 1; got "
                         f"{daily_units}, {share_in_test}, {n_per_arm}, {arms}")
    return math.ceil(n_per_arm * arms / (daily_units * share_in_test) - 1e-9)


def bootstrap_mean_diff(a: ArrayLike, b: ArrayLike, resamples: int = 2000, level: float = 0.95,
                        seed: int = 7) -> Interval:
    """Paired bootstrap over units (e.g. days): value = mean(a - b); the interval is the
    percentile interval of mean(a - b) over `resamples` resamples of the unit indices with
    replacement, drawn by numpy's Generator (default_rng(seed)), so a seed gives one answer."""
    aa, ba = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if aa.shape != ba.shape or aa.ndim != 1 or aa.size < 1:
        raise ValueError(f"a and b must be 1-d, non-empty and of equal length, got {aa.shape}, {ba.shape}")
    if not (np.isfinite(aa).all() and np.isfinite(ba).all()) or resamples < 1 or not 0 < level < 1:
        raise ValueError(f"a and b must be finite, resamples >= 1, level in (0, 1); got {resamples}, {level}")
    d = aa - ba
    idx = np.random.default_rng(seed).integers(0, d.size, size=(resamples, d.size))
    means = d[idx].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(d.mean()), float(low), float(high), int(d.size))


def _labels_scores(y: ArrayLike, score: ArrayLike) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.float64]]:
    ya, sa = np.asarray(y), np.asarray(score, dtype=float)
    if ya.shape != sa.shape or ya.ndim != 1:
        raise ValueError(f"y and score must be 1-d and of equal length, got {ya.shape} and {sa.shape}")
    if not np.isin(ya, (0, 1)).all() or ya.sum() == 0 or ya.sum() == ya.size:
        raise ValueError("y must hold only 0 and 1, and both of them")
    return ya.astype(int), sa


def pr_auc(y: ArrayLike, score: ArrayLike) -> float:
    """Area under the precision-recall curve as average precision, Σ (R_k - R_{k-1})·P_k over
    the distinct score thresholds from high to low (tied scores enter together), as
    sklearn.metrics.average_precision_score computes it."""
    ya, sa = _labels_scores(y, score)
    order = np.argsort(-sa, kind="stable")
    ys, ss = ya[order], sa[order]
    last = np.r_[np.flatnonzero(np.diff(ss)), ys.size - 1]  # last index of each distinct score
    tp = np.cumsum(ys)[last]
    precision = tp / (last + 1)
    recall = tp / ys.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def recall_at_budget(y: ArrayLike, score: ArrayLike, budget: float) -> tuple[float, float]:
    """Recall of positives when at most `budget` (a share in [0, 1]) of the negatives may be
    flagged. Flagged means score strictly greater than the threshold; the threshold is the lowest
    one that keeps the flagged share of negatives within budget, i.e. the (k+1)-th highest negative
    score with k = floor(budget·negatives) (ties at it are not flagged, so fewer may be), or below
    every score when k covers all negatives. Returns (recall, realised share of negatives flagged)."""
    if not 0 <= budget <= 1:
        raise ValueError(f"budget must be in [0, 1], got {budget}")
    ya, sa = _labels_scores(y, score)
    neg = np.sort(sa[ya == 0])[::-1]
    k = math.floor(budget * neg.size + 1e-9)
    threshold = -math.inf if k >= neg.size else float(neg[k])
    flagged = sa > threshold
    return float(flagged[ya == 1].mean()), float(flagged[ya == 0].mean())
