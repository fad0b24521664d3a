"""Score calibration: monotone maps from a raw score to a probability of takeover, fit on
validation labels and stored as plain JSON knots (no pickle).

Every calibrator is one pure function of the raw score, vectorised and scalar alike:
`p = out(interp(in(raw), x, y))`, where `in` is the identity or the logit (for the booster's
probabilities) and `out` the identity or the logistic function. The candidates:

- `isotonic`: isotonic regression's step points on the raw score. With few positives nearly
  every login lands on one step, so thresholds can only jump between a handful of levels.
- `isotonic_interp`: the same blocks, but interpolated between each block's mean score, so
  every distinct raw score between the first and last block keeps a distinct probability.
- `platt`: a logistic fit on the (logit of the) raw score; strictly increasing, two numbers.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

CLIP = 1e-15  # raw probabilities are clipped to [CLIP, 1 - CLIP] before the logit
FAR = 1e6  # Platt's two knots: no (logit) score reaches past them, so the line is exact


def logit(v: np.ndarray | float) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=float), CLIP, 1 - CLIP)
    return np.log(v) - np.log1p(-v)


@dataclass(frozen=True)
class Calibrator:
    """Monotone map from a raw score to a probability of takeover (see the module docstring)."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    method: str = "isotonic"
    logit_in: bool = False  # knots sit on logit(raw): the raw score is a probability
    logit_out: bool = False  # knot values are log-odds
    _xa: np.ndarray = field(init=False, repr=False, compare=False)
    _ya: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:  # the knots as arrays once, not per call
        object.__setattr__(self, "_xa", np.asarray(self.x, dtype=float))
        object.__setattr__(self, "_ya", np.asarray(self.y, dtype=float))

    def __call__(self, raw: np.ndarray | float) -> np.ndarray:
        z = logit(raw) if self.logit_in else np.asarray(raw, dtype=float)
        v = np.interp(z, self._xa, self._ya)
        return np.asarray(expit(v) if self.logit_out else v)

    def one(self, raw: float) -> float:
        """One raw score's probability (serving): for plain knots `np.interp`'s arithmetic step for
        step without the array round trip; with a logit on either side, through `__call__` (tests
        hold the two equal)."""
        if self.logit_in or self.logit_out:
            return float(self(raw))
        x, y = self.x, self.y
        if raw != raw or len(x) < 2:  # NaN stays NaN; a single point is numpy's business
            return raw if raw != raw else float(np.interp(raw, self._xa, self._ya))
        j = bisect.bisect_right(x, raw) - 1
        if j < 0:
            return y[0]
        if j >= len(x) - 1 or x[j] == raw:
            return y[j]
        slope = (y[j + 1] - y[j]) / (x[j + 1] - x[j])
        p = slope * (raw - x[j]) + y[j]
        if p != p:
            p = slope * (raw - x[j + 1]) + y[j + 1]
            if p != p and y[j] == y[j + 1]:
                p = y[j]
        return p

    def to_json(self) -> dict[str, Any]:
        return {"x": list(self.x), "y": list(self.y), "method": self.method,
                "logit_in": self.logit_in, "logit_out": self.logit_out}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Calibrator:
        """Bundles written before the other methods existed hold isotonic knots only."""
        return cls(tuple(d["x"]), tuple(d["y"]), str(d.get("method", "isotonic")),
                   bool(d.get("logit_in", False)), bool(d.get("logit_out", False)))


def fit_isotonic(raw: np.ndarray, y: np.ndarray, w: np.ndarray) -> Calibrator:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(raw, y, sample_weight=w)
    return Calibrator(tuple(float(v) for v in iso.X_thresholds_), tuple(float(v) for v in iso.y_thresholds_))


def fit_isotonic_interp(raw: np.ndarray, y: np.ndarray, w: np.ndarray, logit_in: bool) -> Calibrator:
    """Isotonic blocks, then one knot per block at its weighted mean score (log-odds space when
    the score is a probability), interpolated linearly in between."""
    from sklearn.isotonic import IsotonicRegression

    z = logit(raw) if logit_in else np.asarray(raw, dtype=float)
    order = np.argsort(z, kind="stable")
    z, y, w = z[order], y[order].astype(float), w[order]
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit_transform(z, y, sample_weight=w)
    starts = np.r_[0, np.flatnonzero(np.diff(fitted) != 0) + 1]  # blocks are runs of one fitted value
    sums = np.add.reduceat(w, starts)
    centre = np.add.reduceat(w * z, starts) / np.where(sums > 0, sums, 1)
    return Calibrator(tuple(float(v) for v in centre), tuple(float(v) for v in fitted[starts]),
                      "isotonic_interp", logit_in=logit_in)


def fit_platt(raw: np.ndarray, y: np.ndarray, w: np.ndarray, logit_in: bool) -> Calibrator:
    """Logistic regression of the label on the (logit of the) score, unpenalised; a slope that
    comes out negative (no signal) is set to 0, so the map never decreases."""
    from sklearn.linear_model import LogisticRegression

    z = logit(raw) if logit_in else np.asarray(raw, dtype=float)
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(z[:, None], y.astype(int), sample_weight=w)
    a, b = max(float(lr.coef_[0, 0]), 0.0), float(lr.intercept_[0])
    if a == 0.0:
        rate = float(np.average(y, weights=w))
        b = float(logit(rate))
    return Calibrator((-FAR, FAR), (b - a * FAR, b + a * FAR), "platt", logit_in=logit_in, logit_out=True)


def rank_matched(cal: Calibrator, served_raw: np.ndarray, fitted_raw: np.ndarray, levels: int = 400) -> Calibrator:
    """`cal`, fitted on booster A's scores, carried over to booster B by rank: a B score takes the
    probability `cal` gives the A score of the same quantile among reference rows both scored
    (`served_raw` = B's, `fitted_raw` = A's, same rows, out of sample for both). B then flags the
    same share of the reference rows as A at every threshold, so tiers set on A's probabilities keep
    their volumes. Knots are denser in the upper tail, where the action thresholds sit. One
    `Calibrator` again (its knots evaluated through both maps), so serving and bundles do not change."""
    zb = logit(served_raw) if cal.logit_in else np.asarray(served_raw, dtype=float)
    za = logit(fitted_raw) if cal.logit_in else np.asarray(fitted_raw, dtype=float)
    if len(zb) != len(za) or len(zb) < 2:
        raise ValueError("rank matching needs the same reference rows (at least 2) scored by both boosters")
    q = np.unique(np.r_[np.linspace(0.0, 1.0, levels // 2), 1.0 - np.geomspace(1e-5, 0.5, levels // 2)])
    kb, ka = np.quantile(zb, q), np.quantile(za, q)
    kb, first = np.unique(kb, return_index=True)  # ties in B's scores: one knot, A's score at its lowest quantile
    ka = ka[first]
    inside = cal._xa[(cal._xa > ka[0]) & (cal._xa < ka[-1])]  # cal's own knots placed on B's scale keep its
    knots = np.unique(np.r_[kb, np.interp(inside, ka, kb)])  # steps: both maps are piecewise linear
    v = np.interp(np.interp(knots, kb, ka), cal._xa, cal._ya)
    return Calibrator(tuple(float(x) for x in knots), tuple(float(x) for x in v), f"{cal.method}+rank_matched",
                      logit_in=cal.logit_in, logit_out=cal.logit_out)


def fit_calibrator(method: str, raw: np.ndarray, y: np.ndarray, w: np.ndarray, logit_in: bool) -> Calibrator:
    """Fit one candidate on labelled rows (weights > 0); both classes must be present."""
    if method == "isotonic":
        return fit_isotonic(raw, y, w)
    if method == "isotonic_interp":
        return fit_isotonic_interp(raw, y, w, logit_in)
    if method == "platt":
        return fit_platt(raw, y, w, logit_in)
    raise ValueError(f"unknown calibration method {method!r}")


def reliability(p: np.ndarray, y: np.ndarray, lowest: float = 1e-5, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean predicted vs observed rate per log-spaced bin of p (for the calibration plot;
    with a base rate near 0.02 %, quantile bins would all sit at p ~ 0). Empty bins are left out."""
    keep = (y == 0) | (y == 1)
    p, y = p[keep], y[keep].astype(float)
    edges = np.r_[0.0, np.logspace(np.log10(lowest), 0, bins + 1)[1:]]
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    rows = [(p[idx == b].mean(), y[idx == b].mean(), int((idx == b).sum())) for b in range(len(edges) - 1) if (idx == b).any()]
    mean_p, rate, n = (np.array(v) for v in zip(*rows, strict=True)) if rows else (np.zeros(0),) * 3
    return mean_p, rate, n
