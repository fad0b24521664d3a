"""Which calibrator to use, decided on validation only: each fold's validation block (scored by
that fold's booster) is cut in time order; every candidate is fit on the earlier half and
judged on the later half by weighted log-loss (the proper score), with Brier score, distinct
probability levels, the share of rows on the most common level, and how closely a step-up
budget set on the earlier half is spent on the later half (both on successful legit logins,
`Part.budget_legit`).

With a step-up budget, a candidate whose levels are too coarse to spend it (off by more than
`budget_tolerance` on some fold) is left out first: plain isotonic, with nearly every login on one
step, wins log-loss on few positives yet cannot put the threshold where the budget says."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ato.model.calibration import Calibrator, fit_calibrator
from ato.model.metrics import budget_legit, budget_tolerance

EPS = 1e-15  # probabilities are clipped to [EPS, 1 - EPS] inside the log-loss


@dataclass(frozen=True)
class Part:
    """One validation block in time order: raw scores, labels (0/1), weights (0 = ambiguous) and
    whether each login passed the password check (None: all did)."""

    raw: np.ndarray
    y: np.ndarray
    w: np.ndarray
    success: np.ndarray | None = None

    def budget_legit(self) -> np.ndarray:
        """The logins the step-up budget is spent on (`metrics.budget_legit`)."""
        return budget_legit(self.y, self.w, self.success)


@dataclass
class CalibrationTrial:
    """One candidate's scores on the later half of each fold (None where a fold cannot judge)."""

    method: str
    log_loss: list[float | None] = field(default_factory=list)
    brier: list[float | None] = field(default_factory=list)
    distinct_levels: list[int | None] = field(default_factory=list)
    top_level_share: list[float | None] = field(default_factory=list)
    budget_spent: list[float | None] = field(default_factory=list)
    budget_tolerance: list[float | None] = field(default_factory=list)

    @staticmethod
    def _mean(v: list[Any]) -> float | None:
        vals = [x for x in v if x is not None]
        return float(np.mean(vals)) if vals else None

    @property
    def mean_log_loss(self) -> float | None:
        return self._mean(self.log_loss)

    def spends(self, budget: float) -> bool:
        """The budget set on each earlier half is spent on the later half within chance."""
        return all(sp is None or tol is None or abs(sp - budget) <= tol
                   for sp, tol in zip(self.budget_spent, self.budget_tolerance, strict=True))

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "log_loss": self.log_loss, "brier": self.brier,
                "distinct_levels": self.distinct_levels, "top_level_share": self.top_level_share,
                "budget_spent": self.budget_spent, "budget_tolerance": self.budget_tolerance,
                "mean_log_loss": self.mean_log_loss,
                "mean_brier": self._mean(self.brier), "mean_distinct_levels": self._mean(self.distinct_levels)}


def budget_start(p_legit: np.ndarray, budget: float) -> float:
    """The lowest probability threshold (p >= t acts) that at most `budget` of these legit logins
    reach: strictly above the (k+1)-th highest, k = floor(budget * n)."""
    if len(p_legit) == 0:
        return float("inf")
    s = np.sort(np.asarray(p_legit, dtype=float))[::-1]
    k = int(np.floor(budget * len(s)))
    if k >= len(s):
        return 0.0
    return float(np.nextafter(s[k], np.inf))


def judge(cal: Calibrator, early: Part, late: Part, budget: float) -> tuple[Any, ...]:
    """(log-loss, Brier, distinct levels, top-level share, legit share reached by the early budget
    threshold, its tolerance) of a calibrator on the later half's labelled rows."""
    keep = late.w > 0
    p, y, w = cal(late.raw[keep]), late.y[keep].astype(float), late.w[keep]
    pc = np.clip(p, EPS, 1 - EPS)
    ll = float(-np.average(y * np.log(pc) + (1 - y) * np.log1p(-pc), weights=w))
    brier = float(np.average((p - y) ** 2, weights=w))
    _, counts = np.unique(p, return_counts=True)
    early_legit, late_legit = early.budget_legit(), late.budget_legit()
    t = budget_start(cal(early.raw[early_legit]), budget)
    spent = float((cal(late.raw[late_legit]) >= t).mean()) if late_legit.any() else None
    tol = budget_tolerance(budget, int(early_legit.sum()), int(late_legit.sum()))
    return ll, brier, len(counts), float(counts.max() / len(p)), spent, tol


def halves(part: Part) -> tuple[Part, Part]:
    """The block cut at its middle row (rows are in event-time order)."""
    mid = len(part.y) // 2
    ok = part.success
    return (Part(part.raw[:mid], part.y[:mid], part.w[:mid], None if ok is None else ok[:mid]),
            Part(part.raw[mid:], part.y[mid:], part.w[mid:], None if ok is None else ok[mid:]))


def _usable(p: Part) -> bool:
    y = p.y[p.w > 0]
    return bool(0 < y.sum() < len(y))


def compare(parts: list[Part], methods: list[str], logit_in: bool, budget: float) -> list[CalibrationTrial]:
    """Every candidate fit on each part's earlier half and judged on its later half."""
    trials = [CalibrationTrial(m) for m in methods]
    for part in parts:
        early, late = halves(part)
        ok = _usable(early) and _usable(late)
        for t in trials:
            r: tuple[Any, ...] = (None,) * 6
            if ok:
                keep = early.w > 0
                cal = fit_calibrator(t.method, early.raw[keep], early.y[keep], early.w[keep], logit_in)
                r = judge(cal, early, late, budget)
            lists: tuple[list[Any], ...] = (t.log_loss, t.brier, t.distinct_levels, t.top_level_share, t.budget_spent,
                                            t.budget_tolerance)
            for lst, v in zip(lists, r, strict=True):
                lst.append(v)
    return trials


def choose(trials: list[CalibrationTrial], budget: float | None = None) -> str:
    """The lowest mean log-loss among the candidates that spend `budget` (all, if none does or no
    budget is set); the first candidate when no fold could judge."""
    judged = [t for t in trials if t.mean_log_loss is not None]
    if budget is not None:
        judged = [t for t in judged if t.spends(budget)] or judged
    return min(judged, key=lambda t: t.mean_log_loss or 0.0).method if judged else trials[0].method


def choose_and_fit(parts: list[Part], final: Part, methods: list[str], logit_in: bool, budget: float,
                   enforce_budget: bool) -> tuple[Calibrator, dict[str, Any]]:
    """Compare the candidates on `parts`, then fit the winner on all of `final`'s labelled rows."""
    trials = compare(parts, methods, logit_in, budget)
    method = choose(trials, budget if enforce_budget else None)
    keep = final.w > 0
    cal = fit_calibrator(method, final.raw[keep], final.y[keep], final.w[keep], logit_in)
    rule = "lowest log-loss among those spending the budget" if enforce_budget else "lowest log-loss"
    return cal, {"chosen": method, "rule": rule, "budget_checked": budget, "trials": [t.as_dict() for t in trials]}
