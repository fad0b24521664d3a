"""Metrics of every scorer on the same blocks. Test metrics use the simulator's ground truth
when the world folder has it (labels are noisy and late), else the matured labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ato.model.data import Window
from ato.model.labels import training_targets
from ato.model.metrics import (
    bootstrap_positives,
    budget_legit,
    budget_tolerance,
    evaluate,
    successful,
)
from ato.model.tiers import total_cost
from ato.settings import Settings

SCORERS = ("model", "fallback", "rules", "freeman_rba")


def label_target(part: pd.DataFrame) -> np.ndarray:
    """Matured labels as an evaluation target; ambiguous (weight 0) rows become -1 (left out)."""
    y, w = training_targets(part)
    return np.where(w > 0, y, -1)


def test_target(part: pd.DataFrame, has_truth: bool) -> tuple[np.ndarray, np.ndarray]:
    """(target, attack type) for evaluating test rows: ground truth when the world has it,
    else the matured labels."""
    if has_truth:
        return part["truth"].to_numpy(), part["truth_attack_type"].to_numpy()
    return label_target(part), part["attack_type"].to_numpy()


def evaluate_part(part: pd.DataFrame, target: np.ndarray, kind: np.ndarray | None,
                  scorers: tuple[str, ...] = SCORERS) -> dict[str, Any]:
    ok = successful(part) if "outcome" in part else None
    return {n: evaluate(target, part[f"{n}_raw"].to_numpy(), part[f"{n}_action"].to_numpy(), kind, ok)
            for n in scorers if f"{n}_raw" in part}


def evaluate_blocks(s: Settings, w: Window, val: pd.DataFrame, test: pd.DataFrame, has_truth: bool) -> dict[str, Any]:
    """The metrics.json body: test (truth or labels), test on labels, validation, costs."""
    out: dict[str, Any] = {"window": w.as_dict(), "evaluated_against": "world_truth" if has_truth else "labels"}
    target, kind = test_target(test, has_truth)
    out["test"] = evaluate_part(test, target, kind)
    if has_truth:
        failed = target == -1
        out["failed_attack_attempts"] = {  # attackers who did not pass the password check
            n: {"n": int(failed.sum()), "actioned_share": float((test.loc[failed, f"{n}_action"] != "allow").mean())
                if failed.any() else None} for n in SCORERS}
        out["test_labels"] = evaluate_part(test, *test_target(test, has_truth=False))
    out["test_bootstrap"] = bootstrap_positives(
        target, {n: test[f"{n}_raw"].to_numpy() for n in SCORERS}, n=300, seed=s.model.seed)
    out["validation_labels"] = evaluate_part(val, label_target(val), val["attack_type"].to_numpy())
    out["test_cost"] = {n: total_cost(test[f"{n}_action"].to_numpy(), target, s.costs) for n in SCORERS}
    out["stepup_budget"] = budget_check(s, val, out["test"]["model"])
    if has_truth and "truth_campaign" in test:
        from ato.model.campaigns import campaigns_stopped, load_money_moves

        money = load_money_moves(s, w.test)
        for n in SCORERS:
            c = campaigns_stopped(test, test[f"{n}_action"].to_numpy(), money)
            out["test"][n]["campaigns_stopped_before_money"] = c.pop("campaigns_stopped_before_money")
            out["test"][n]["campaigns"] = c
    return out


def budget_check(s: Settings, val: pd.DataFrame, test_model: dict[str, Any]) -> dict[str, Any] | None:
    """The model's realised legit challenge rate on test against the step-up budget it was tiered
    for on validation, with the tolerance chance allows (`budget_tolerance`): both over successful
    legit logins, the ones the budget is spent on."""
    b = s.model.stepup_budget
    if b is None:
        return None
    y, w = training_targets(val)
    n_val, n_test = int(budget_legit(y, w, successful(val)).sum()), int(test_model["n_legit_successful"])
    realised = test_model["legit_challenge_rate"]
    tol = budget_tolerance(b, n_val, n_test)
    return {"budget": b, "realised": realised, "tolerance": tol, "n_legit_val": n_val, "n_legit_test": n_test,
            "within": realised is not None and abs(realised - b) <= tol}
