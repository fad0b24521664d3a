"""Score calibration: isotonic regression fit on the validation block, stored as its step
points (plain JSON, no pickle) and applied with linear interpolation."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Calibrator:
    """Monotone map from a raw score to a probability of takeover."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    _xa: np.ndarray = field(init=False, repr=False, compare=False)
    _ya: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:  # the step points as arrays once, not per call
        object.__setattr__(self, "_xa", np.asarray(self.x, dtype=float))
        object.__setattr__(self, "_ya", np.asarray(self.y, dtype=float))

    @classmethod
    def fit(cls, raw: np.ndarray, label: np.ndarray, weight: np.ndarray | None = None) -> Calibrator:
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(raw, label, sample_weight=weight)
        return cls(tuple(float(v) for v in iso.X_thresholds_), tuple(float(v) for v in iso.y_thresholds_))

    def __call__(self, raw: np.ndarray | float) -> np.ndarray:
        return np.interp(np.asarray(raw, dtype=float), self._xa, self._ya)

    def one(self, raw: float) -> float:
        """One raw score's probability (serving): `np.interp`'s arithmetic step for step, without the
        array round trip (tests hold the two equal)."""
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

    def to_json(self) -> dict[str, list[float]]:
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_json(cls, d: dict[str, list[float]]) -> Calibrator:
        return cls(tuple(d["x"]), tuple(d["y"]))


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
