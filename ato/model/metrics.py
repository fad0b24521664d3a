"""Evaluation of one scorer on one block: ranking quality, the operating point the business
cares about (1 % of legitimate logins challenged), actions taken, per attack type."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

STEP_UP_BUDGET = 0.01  # recall_at_1pct_stepup: challenge at most this share of legit logins


def successful(rows: pd.DataFrame) -> np.ndarray:
    """Which logins passed the password check. Only these can challenge a customer: the step-up
    budget and the realised legit challenge rate count successful legit logins (a failed login
    still gets an action, at no customer friction)."""
    return (rows["outcome"] == "success").to_numpy(dtype=bool)


def budget_legit(y: np.ndarray, w: np.ndarray, success: np.ndarray | None) -> np.ndarray:
    """The logins the step-up budget is spent on: labelled legit (y 0, weight > 0) and successful
    (`success`; None: all were). A failed login (a customer's typo, or one of the many failed
    credential-stuffing attempts labelled 0) challenges no customer, so it must not use budget."""
    ok = (w > 0) & (y == 0)
    return ok if success is None else ok & np.asarray(success, dtype=bool)


def budget_threshold(legit_scores: np.ndarray, budget: float = STEP_UP_BUDGET) -> float:
    """The lowest threshold t such that at most `budget` of legit logins score strictly above t."""
    if len(legit_scores) == 0:
        return float("inf")
    s = np.sort(legit_scores)[::-1]
    k = int(np.floor(budget * len(s)))
    return float(s[min(k, len(s) - 1)])


def budget_tolerance(budget: float, n_val: int, n_test: int, z: float = 3.0) -> float:
    """How far a realised challenge rate may fall from the budget by chance alone: the threshold is
    a quantile of `n_val` validation legit logins (its true exceedance rate varies by about
    b(1-b)/n_val) and the test rate a binomial share of `n_test` (b(1-b)/n_test more); z sd of both."""
    if n_val == 0 or n_test == 0:
        return float("inf")
    return float(z * np.sqrt(budget * (1 - budget) * (1 / n_val + 1 / n_test)))


def _safe(fn: Any, y: np.ndarray, s: np.ndarray) -> float | None:
    return float(fn(y, s)) if 0 < y.sum() < len(y) else None


def evaluate(y: np.ndarray, score: np.ndarray, action: np.ndarray, kind: np.ndarray | None = None,
             success: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics for positives `y == 1` against legit `y == 0` (rows with other values are left
    out). `action` != "allow" counts as flagged; `kind` gives each positive's attack type. The
    legit challenge rate counts successful legit logins only (`success`; None = all succeeded);
    the ranking metrics and the false-lock rate count every legit login."""
    keep = (y == 0) | (y == 1)
    y, score, action = y[keep].astype(int), score[keep].astype(float), action[keep]
    ok = np.ones(len(y), dtype=bool) if success is None else np.asarray(success, dtype=bool)[keep]
    legit, pos = y == 0, y == 1
    friction = legit & ok  # legit logins an action would challenge: those that passed the password check
    flagged = action != "allow"
    thr = budget_threshold(score[legit])
    tp, fp = int((flagged & pos).sum()), int((flagged & legit).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / int(pos.sum()) if pos.any() else 0.0
    out: dict[str, Any] = {
        "n_legit": int(legit.sum()), "n_positive": int(pos.sum()),
        "base_rate": float(pos.mean()) if len(y) else 0.0,
        "pr_auc": _safe(average_precision_score, y, score),
        "roc_auc": _safe(roc_auc_score, y, score),
        "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        # the decisions as taken (any action but allow), not only the ranking
        "decision_recall": recall,
        "legit_challenge_rate": float(flagged[friction].mean()) if friction.any() else None,
        "n_legit_successful": int(friction.sum()),
        "failed_legit_actioned_share": float(flagged[legit & ~ok].mean()) if (legit & ~ok).any() else None,
        "actions_positive": _counts(action[pos]), "actions_legit": _counts(action[legit]),
        "recall_at_1pct_stepup": float((score[pos] > thr).mean()) if pos.any() else None,
        "legit_challenged_at_1pct": float((score[legit] > thr).mean()) if legit.any() else None,
        "false_lock_rate": float((action[legit] == "temporary_lock").mean()) if legit.any() else None,
        "action_share_legit": _shares(action[legit]),
        "action_share_positive": _shares(action[pos]),
    }
    if kind is not None:
        kind = np.asarray(kind, dtype=object)[keep]
        by: dict[str, Any] = {}
        for t in sorted({str(k) for k in kind[pos] if k is not None}):
            sel = legit | (pos & (kind == t))
            yt = y[sel]
            by[t] = {"n": int(yt.sum()),
                     "pr_auc": _safe(average_precision_score, yt, score[sel]),
                     "recall_at_1pct_stepup": float((score[pos & (kind == t)] > thr).mean()),
                     "recall": float(flagged[pos & (kind == t)].mean())}
        out["recall_by_attack_type"] = by
    return out


def _counts(action: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(action.astype(str), return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}


def _shares(action: np.ndarray) -> dict[str, float]:
    if len(action) == 0:
        return {}
    values, counts = np.unique(action.astype(str), return_counts=True)
    return {str(v): float(c / len(action)) for v, c in zip(values, counts, strict=True)}


def pr_curve(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall along the score, for plotting."""
    from sklearn.metrics import precision_recall_curve

    keep = (y == 0) | (y == 1)
    p, r, _ = precision_recall_curve(y[keep].astype(int), score[keep])
    return p, r


def bootstrap_positives(y: np.ndarray, scores: dict[str, np.ndarray], n: int = 1000, seed: int = 0,
                        level: float = 0.95) -> dict[str, Any]:
    """Confidence intervals for PR-AUC and recall at 1 % step-up, per scorer and for the
    model's difference to each other scorer, resampling the positives (with a few dozen
    takeovers they dominate the variance; the legit logins, hundreds of thousands, are kept).
    Tied legit scores count as ranked ahead of a positive, as average precision would not."""
    keep = (y == 0) | (y == 1)
    y = y[keep]
    pos = np.flatnonzero(y == 1)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(pos), size=(n, len(pos))) if len(pos) else np.zeros((n, 0), dtype=int)
    ap: dict[str, np.ndarray] = {}
    rec: dict[str, np.ndarray] = {}
    for name, s in scores.items():
        s = s[keep]
        legit = np.sort(s[y == 0])
        sp = s[pos]
        legit_ahead = len(legit) - np.searchsorted(legit, sp, side="left")  # legit with score >= s_i
        thr = budget_threshold(legit)
        caught = (sp > thr).astype(float)
        ss = sp[draws]  # n x P sampled positive scores
        srt = np.sort(ss, axis=1)
        pos_ahead = np.stack([len(r) - np.searchsorted(r, row, side="left") for r, row in zip(srt, ss, strict=True)]) \
            if len(pos) else ss  # per draw, sampled positives scoring >= each
        ap[name] = (pos_ahead / (pos_ahead + legit_ahead[draws])).mean(axis=1)
        rec[name] = caught[draws].mean(axis=1)
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2

    def ci(v: np.ndarray) -> list[float]:
        return [float(np.quantile(v, lo)), float(np.quantile(v, hi))] if len(v) else [0.0, 0.0]

    out: dict[str, Any] = {"resamples": n, "positives": len(pos), "level": level}
    for name in scores:
        out[name] = {"pr_auc_ci": ci(ap[name]), "recall_at_1pct_stepup_ci": ci(rec[name])}
        if name != "model" and "model" in scores:
            out[f"model_minus_{name}"] = {"pr_auc_ci": ci(ap["model"] - ap[name]),
                                          "recall_at_1pct_stepup_ci": ci(rec["model"] - rec[name])}
    return out
