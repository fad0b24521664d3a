"""The action model: a LightGBM classifier on `gold/action_training_set`, stored beside the login
model in the version's folder (`action_model.txt`, `action.json`), and `ActionModel`, which serving
loads to score one action.

Splits follow the login model's conf (the last `train_days + val_days + test_days` action days).
Thresholds are set on validation's legit actions: step-up spends `model.action_budget` of them,
review a tenth of it, lock a hundredth. Fixed, regularised parameters (few positives); no class
weights or square-root ones, whichever has the better validation PR-AUC.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ato import deltars
from ato.features.actions import ACTION_FEATURES
from ato.model.registry import ACTION_MODEL_FILE
from ato.tables import ACTION_TRAINING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ato.settings import Settings

MODEL_FILE, META_FILE = ACTION_MODEL_FILE, "action.json"  # the registry's optional part, and its meta
TIERS = (("temporary_lock", 0.01), ("manual_review", 0.1), ("step_up_mfa", 1.0))  # share of the budget
PARAMS = {"objective": "binary", "learning_rate": 0.03, "num_leaves": 7, "min_data_in_leaf": 50, "lambda_l2": 1.0,
          "feature_fraction": 0.9, "bagging_fraction": 0.9, "bagging_freq": 1, "verbose": -1,
          "deterministic": True, "num_threads": 2}
ROUNDS = 300
# Class weights compared on validation PR-AUC (the better one is kept). On the demo world the full
# class ratio (~1,000) saturated every score at 1.0 (validation PR-AUC 0.007), so it is not a candidate.
WEIGHTINGS = ("none", "sqrt_ratio")


def threshold_for(legit_scores: np.ndarray, share: float) -> float:
    """The lowest threshold (score >= it) that challenges at most `share` of `legit_scores`."""
    import numpy as np

    s = np.sort(np.asarray(legit_scores, dtype=np.float64))[::-1]
    k = math.floor(share * len(s))
    if len(s) == 0:
        return 1.0
    if k >= len(s):
        return float(s[-1])
    return float(np.nextafter(s[k], np.inf))  # ties at the edge stay below it


def split_days(days: list[Any], settings: Settings) -> tuple[list[Any], list[Any], list[Any]]:
    """(train, validation, test) days: the newest `test_days`, the `val_days` before, then up to `train_days`."""
    m = settings.model
    days = sorted(days)
    test = days[-m.test_days:]
    val = days[-(m.test_days + m.val_days):-m.test_days]
    train = days[-m.training_window_days:-(m.test_days + m.val_days)]
    return train, val, test


def _metrics(y: np.ndarray, p: np.ndarray, thresholds: dict[str, float]) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score

    pos, neg = y == 1, y == 0
    flagged = p >= thresholds["step_up_mfa"]
    return {"actions": len(y), "takeover_actions": int(pos.sum()), "legit_actions": int(neg.sum()),
            "recall": float(flagged[pos].mean()) if pos.any() else None,
            "legit_challenge_rate": float(flagged[neg].mean()) if neg.any() else None,
            "pr_auc": float(average_precision_score(y, p)) if pos.any() and neg.any() else None,
            "locked_legit": int((p[neg] >= thresholds["temporary_lock"]).sum())}


def fit_action_model(rows: pd.DataFrame, settings: Settings) -> tuple[Any, dict[str, Any]] | None:
    """(booster, metrics) fit on action rows' train days, thresholds set on validation; None without
    a training day, a validation day or a positive to learn from."""
    import lightgbm as lgb
    import numpy as np
    from sklearn.metrics import average_precision_score

    rows = rows.sort_values(["action_date", "event_time", "event_id"], ignore_index=True)  # Delta's file order varies
    train, val, test = split_days(sorted(set(rows["action_date"])), settings)
    part = {name: rows[rows["action_date"].isin(days)] for name, days in
            (("train", train), ("validation", val), ("test", test))}
    if not train or not val or int(part["train"]["label"].sum()) == 0:
        return None
    tr = part["train"]
    x = {k: v[list(ACTION_FEATURES)].to_numpy(dtype="float64") for k, v in part.items()}
    vy = part["validation"]["label"].to_numpy()
    pos = max(int(tr["label"].sum()), 1)
    tried: dict[str, Any] = {}
    for weighting in WEIGHTINGS:
        spw = 1.0 if weighting == "none" else math.sqrt((len(tr) - pos) / pos)
        data = lgb.Dataset(x["train"], tr["label"].to_numpy(), feature_name=list(ACTION_FEATURES),
                           categorical_feature=["action_kind"], free_raw_data=False)
        b = lgb.train({**PARAMS, "seed": settings.model.seed, "scale_pos_weight": spw}, data, num_boost_round=ROUNDS)
        ap = float(average_precision_score(vy, b.predict(x["validation"]))) if 0 < vy.sum() < len(vy) else 0.0
        tried[weighting] = (ap, b)
    weighting = max(WEIGHTINGS, key=lambda w: tried[w][0])  # ties: the first, no weights
    booster = tried[weighting][1]
    scores: dict[str, np.ndarray] = {k: np.asarray(booster.predict(v)) for k, v in x.items()}
    budget = settings.model.action_budget
    thresholds = {tier: threshold_for(scores["validation"][vy == 0], budget * share) for tier, share in TIERS}
    metrics = {"budget": budget, "thresholds": thresholds, "weighting": weighting,
               "validation_pr_auc_by_weighting": {w: tried[w][0] for w in WEIGHTINGS},
               "days": {k: [str(d) for d in v] for k, v in (("train", train), ("validation", val), ("test", test))},
               **{k: _metrics(part[k]["label"].to_numpy(), scores[k], thresholds) for k in part if len(part[k])}}
    return booster, metrics


def fit_until(settings: Settings, until: date | None = None) -> tuple[Any, dict[str, Any]] | None:
    """(booster, metrics) fitted on gold/action_training_set's days up to `until` (all without);
    None when there are no such rows or nothing to learn from."""
    if not deltars.exists(settings, "gold", ACTION_TRAINING):
        return None
    rows = deltars.read(settings, "gold", ACTION_TRAINING).to_pandas()
    if until is not None:
        rows = rows[rows["action_date"] <= until]
    return fit_action_model(rows, settings) if len(rows) else None


def train_action_model(settings: Settings, folder: Path, until: date | None = None) -> dict[str, Any] | None:
    """Fit on gold/action_training_set (its days up to `until`: the login model's test block, so
    both are tested on the same days) and save into `folder`; returns the metrics (None when there
    are no action rows or nothing to learn from)."""
    fitted = fit_until(settings, until)
    if fitted is None:
        return None
    booster, metrics = fitted
    folder.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(folder / MODEL_FILE))
    (folder / META_FILE).write_text(json.dumps({"features": list(ACTION_FEATURES), **metrics}, indent=2))
    return metrics


@dataclass
class ActionModel:
    """A stored action model: booster, feature order and tier thresholds."""

    version: str
    booster: Any
    features: tuple[str, ...]
    thresholds: dict[str, float]

    @classmethod
    def load(cls, folder: Path, version: str) -> ActionModel | None:
        """The action model in a version's folder; None when that version has none."""
        import lightgbm as lgb

        if not (folder / MODEL_FILE).exists():
            return None
        meta = json.loads((folder / META_FILE).read_text())
        return cls(version, lgb.Booster(model_file=str(folder / MODEL_FILE)), tuple(meta["features"]),
                   {k: float(v) for k, v in meta["thresholds"].items()})

    def score(self, feats: dict[str, float]) -> tuple[float, str]:
        """(probability-like score, action) of one action's features."""
        import numpy as np

        x = np.array([[feats[f] for f in self.features]], dtype=np.float64)
        p = float(self.booster.predict(x)[0])
        for tier, _ in TIERS:
            if p >= self.thresholds[tier]:
                return p, tier
        return p, "allow"


def reasons(feats: dict[str, float]) -> list[str]:
    """What stands out in an action's features, in words (most telling first)."""
    out = []
    if feats.get("device_new") == 1.0:
        out.append("device new to the account")
    if feats.get("ip_new") == 1.0:
        out.append("network (IP) new to the account")
    if feats.get("payee_new") == 1.0:
        out.append("payee new to the account")
    if feats.get("method_new") == 1.0:
        out.append("payment method new to the account")
    r = feats.get("amount_ratio", math.nan)
    if r == r and r >= 1.5:
        out.append(f"amount {r:.1f}x the account's usual")
    s = feats.get("s_since_login", math.nan)
    if s == s and s < 3600:
        out.append("within an hour of the login")
    c = feats.get("changes_24h", 0.0)
    if c and c >= 1:
        out.append(f"{int(c)} payout/email/phone change(s) in 24 h")
    return out


def frame_scores(model: ActionModel, rows: pd.DataFrame) -> np.ndarray:
    """Scores of many action rows (evaluation)."""
    out: np.ndarray = model.booster.predict(rows[list(model.features)].to_numpy(dtype="float64"))
    return out
