"""Actions from calibrated probabilities: the action with the lowest expected cost under the
cost table in conf (`costs`); the step-up threshold then moved to spend the operator's budget
of challenged legit logins (`model.stepup_budget`, successful logins only) on validation, and
the lock threshold raised until validation false locks stay under `model.max_false_lock_rate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ato.model.actions import ACTIONS, SEVERITY
from ato.model.calibration import Calibrator
from ato.model.calibration_choice import Part, budget_start, choose_and_fit
from ato.model.metrics import STEP_UP_BUDGET
from ato.settings import CostConf, Settings


def expected_costs(p: np.ndarray, c: CostConf) -> np.ndarray:
    """rows x ACTIONS matrix of expected cost per login, p = probability of takeover."""
    p = np.asarray(p, dtype=float)[:, None]
    per_action = {
        "allow": p * c.missed_ato,
        "step_up_mfa": (1 - p) * c.mfa_friction + p * (1 - c.mfa_stops) * c.missed_ato,
        "manual_review": c.review + p * (1 - c.review_stops) * c.missed_ato,
        "temporary_lock": (1 - p) * c.false_lock + p * (1 - c.lock_stops) * c.missed_ato,
    }
    return np.hstack([per_action[a] for a in ACTIONS])


@dataclass(frozen=True)
class Tiers:
    """Ascending probability thresholds: at or above `starts[a]`, action a (unless a more
    severe one starts lower). Actions that never win have no threshold."""

    starts: dict[str, float]
    _ascending: tuple[tuple[str, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:  # sorted once, not per login
        object.__setattr__(self, "_ascending", tuple(sorted(self.starts.items(), key=lambda kv: kv[1])))

    def action(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        out = np.full(p.shape, "allow", dtype=object)
        for a, t in self._ascending:
            out[p >= t] = a
        return out

    def action_one(self, p: float) -> str:
        best = "allow"
        for a, t in self._ascending:
            if p >= t:
                best = a
        return best


def cost_tiers(c: CostConf, grid: int = 20001) -> Tiers:
    """Where each action becomes the cheapest along p in [0, 1] (costs are linear in p, so
    each action wins on at most one interval)."""
    p = np.linspace(0.0, 1.0, grid)
    best = np.array(ACTIONS, dtype=object)[np.argmin(expected_costs(p, c), axis=1)]
    starts: dict[str, float] = {}
    for a in ACTIONS[1:]:
        hit = np.flatnonzero(best == a)
        if len(hit):
            starts[a] = float(p[hit[0]])
    return Tiers(starts)


def cap_false_locks(t: Tiers, p_legit: np.ndarray, max_rate: float) -> Tiers:
    """Raise the lock threshold until at most `max_rate` of these legit logins are locked;
    the logins it releases fall to the next most severe tier."""
    lock = t.starts.get("temporary_lock")
    if lock is None or len(p_legit) == 0:
        return t
    allowed = int(np.floor(max_rate * len(p_legit)))
    above = np.sort(p_legit[p_legit >= lock])[::-1]
    if len(above) <= allowed:
        return t
    new_lock = float(np.nextafter(above[allowed], np.inf))  # strictly above the (allowed+1)-th
    return Tiers({**t.starts, "temporary_lock": max(lock, new_lock)})


def spend_budget(t: Tiers, p_legit: np.ndarray, budget: float) -> Tiers:
    """Step-up starts where at most `budget` of these legit logins reach it; review and lock stay
    cost-based but never start below it, so every action but allow spends the same budget."""
    start = budget_start(p_legit, budget)
    raised = {a: max(v, start) for a, v in t.starts.items()}
    # in severity order: where thresholds tie, the more severe action is applied last and wins
    return Tiers({a: start if a == "step_up_mfa" else raised[a] for a in ACTIONS[1:] if a in raised or a == "step_up_mfa"})


def calibrate_and_tier(raw_val: np.ndarray, y_val: np.ndarray, w_val: np.ndarray, s: Settings, *,
                       logit_in: bool = False, folds: list[Part] | None = None,
                       success_val: np.ndarray | None = None) -> tuple[Calibrator, Tiers, dict[str, Any]]:
    """Choose a calibrator on `folds` (time-ordered validation blocks; default: this one; with a
    step-up budget, only among those that spend it: `calibration_choice`), fit it
    on validation (rows with weight 0 left out), then tier by cost, spend the step-up budget on
    validation's successful legit logins (`success_val`: passed the password check; None = all did)
    and cap false locks on all its legit logins (a lock on a failed login still locks the owner out):
    the same step for the model, the fallback model and the Freeman baseline. Also returns the
    calibrator comparison (for metrics and the report)."""
    m = s.model
    final = Part(raw_val, y_val, w_val, success_val)
    budget = m.stepup_budget if m.stepup_budget is not None else STEP_UP_BUDGET
    cal, choice = choose_and_fit(folds or [final], final, list(m.calibrators), logit_in, budget,
                                 enforce_budget=m.stepup_budget is not None)
    tiers = cost_tiers(s.costs)
    if m.stepup_budget is not None:
        tiers = spend_budget(tiers, cal(raw_val[final.budget_legit()]), m.stepup_budget)
    keep = w_val > 0
    tiers = cap_false_locks(tiers, cal(raw_val[keep & (y_val == 0)]), m.max_false_lock_rate)
    return cal, tiers, choice


def total_cost(p_action: np.ndarray, y: np.ndarray, c: CostConf) -> float:
    """Realised cost of actions on labelled logins (y 1 = takeover, 0 = legit; others ignored)."""
    cost = 0.0
    for a in ACTIONS:
        sel = p_action == a
        pos, neg = int((sel & (y == 1)).sum()), int((sel & (y == 0)).sum())
        unit = expected_costs(np.array([0.0, 1.0]), c)[:, ACTIONS.index(a)]
        cost += neg * float(unit[0]) + pos * float(unit[1])
    return cost


__all__ = ["SEVERITY", "Tiers", "calibrate_and_tier", "cap_false_locks", "cost_tiers", "expected_costs", "spend_budget",
           "total_cost"]
