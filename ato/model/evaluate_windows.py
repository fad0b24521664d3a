"""Rolling test windows: the newest matured login days cut into consecutive windows, each scored
by a model trained (with `ato train`'s own procedure, `training_run.train`) only on the days
before it, with an action model fitted on the action days up to it (its money moves scored),
reduced to the rows the bootstrap needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ato.model import data as D
from ato.model.action_stops import money_with_stops
from ato.model.campaigns import load_money_moves, per_campaign, stopped_per_campaign
from ato.model.evaluate_bootstrap import ScorerRows, WindowRows
from ato.model.evaluation import SCORERS
from ato.model.metrics import successful
from ato.progress import Progress
from ato.settings import Settings

Span = tuple[date, date]


def plan_windows(last_day: date, windows: int, window_days: int) -> list[Span]:
    """`windows` consecutive spans of `window_days` ending at `last_day`, oldest first."""
    one = timedelta(days=1)
    ends = [last_day - k * window_days * one for k in range(windows - 1, -1, -1)]
    return [(e - (window_days - 1) * one, e) for e in ends]


def history_needed(s: Settings, windows: int, window_days: int) -> int:
    """Matured login days the evaluation needs: the first window's train + val days, then every window."""
    return s.model.train_days + s.model.val_days + windows * window_days


def windows_for(s: Settings, windows: int, window_days: int) -> list[Span]:
    """The windows on this lake's training set (NotEnoughData when it is too short)."""
    days = D.training_days(s)
    if not days:
        raise D.NotEnoughData("gold/training_set is empty: run `ato nightly` first")
    need = history_needed(s, windows, window_days)
    if (days[-1] - days[0]).days + 1 < need:
        raise D.NotEnoughData(f"{windows} windows of {window_days} days need {need} matured login days; "
                              f"the training set has {days[0]}..{days[-1]}")
    return plan_windows(days[-1], windows, window_days)


@dataclass
class Window:
    """One window's training summary, counts and bootstrap rows."""

    span: Span
    training: dict[str, Any]
    counts: dict[str, Any]
    rows: WindowRows


def window_rows(test: pd.DataFrame, money: pd.DataFrame, scorers: tuple[str, ...] = SCORERS) -> WindowRows:
    """Takeovers (truth 1), legit logins (truth 0) and campaigns of one window's scored test rows;
    failed attack attempts (truth -1) are left out, as in `evaluate`."""
    pos = (test["truth"] == 1).to_numpy()
    legit = (test["truth"] == 0).to_numpy()
    ok = successful(test)[legit] if "outcome" in test else None  # the challenge rate's legit logins
    if "truth_campaign" in test:
        campaign = test.loc[pos, "truth_campaign"].to_numpy()
    else:  # no campaign ids: every takeover is its own unit
        campaign = np.arange(int(pos.sum()))
    camps, pos_campaign = np.unique(campaign, return_inverse=True)
    kind = test.loc[pos, "truth_attack_type"].astype(str).to_numpy()
    camp_type = np.array([kind[np.flatnonzero(pos_campaign == i)[0]] for i in range(len(camps))], dtype=object)
    rows = {}
    for n in scorers:
        action = test[f"{n}_action"].to_numpy().astype(str)
        if "truth_campaign" in test:
            c = per_campaign(stopped_per_campaign(test, action, money))
            stopped = c["stopped"].reindex(camps).fillna(False).to_numpy(dtype=bool)
            by_login = c["by_login"].reindex(camps).fillna(False).to_numpy(dtype=bool)
        else:
            stopped = by_login = np.isin(action[pos], ("step_up_mfa", "manual_review", "temporary_lock"))
        raw = test[f"{n}_raw"].to_numpy(dtype=float)
        rows[n] = ScorerRows(raw[pos], action[pos] != "allow", raw[legit], action[legit] != "allow",
                             action[legit] == "temporary_lock", stopped, ok, by_login)
    return WindowRows(kind.astype(object), pos_campaign, camp_type, rows)


def _counts(test: pd.DataFrame, rows: WindowRows) -> dict[str, Any]:
    types, n = np.unique(rows.pos_type.astype(str), return_counts=True)
    ctypes, cn = np.unique(rows.camp_type.astype(str), return_counts=True)
    legit = test["truth"] == 0
    return {"takeovers": len(rows.pos_type), "legit": int(legit.sum()),
            "legit_successful": int((legit & successful(test)).sum()) if "outcome" in test else int(legit.sum()),
            "failed_attack_attempts": int((test["truth"] == -1).sum()),
            "takeovers_by_type": {str(t): int(k) for t, k in zip(types, n, strict=True)},
            "campaigns": len(rows.camp_type),
            "campaigns_by_type": {str(t): int(k) for t, k in zip(ctypes, cn, strict=True)}}


def window_money(s: Settings, span: Span) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The window's money moves (to its cash-out days), each marked `stopped` when an action model
    fitted on the action days up to the window's end stops it; with that model's summary."""
    from ato.sensitive.model import fit_until

    fitted = fit_until(s, span[1])
    if fitted is None:
        return load_money_moves(s, span), None
    booster, m = fitted
    money = money_with_stops(s, span, booster, m["thresholds"])
    return money, {"weighting": m["weighting"], "thresholds": m["thresholds"], "days": m["days"],
                   "test": m.get("test"), "money_moves": len(money), "money_moves_stopped": int(money["stopped"].sum())}


def run_window(s: Settings, span: Span, progress: Progress) -> Window:
    """Train for the night whose matured data ends with `span` (test block = `span`) and score it."""
    from ato.model.training_run import train

    if s.model.test_days != (span[1] - span[0]).days + 1:
        raise ValueError(f"model.test_days is {s.model.test_days}, the window {span} is not that long")
    run = train(s, span[1] + timedelta(days=s.batch.label_maturity_days), progress)
    if not run.extras.get("has_truth"):
        raise D.NotEnoughData(f"no ground truth ({D.TRUTH_FILE}) under {s.paths.world}: evaluation needs it")
    assert run.window.test == span, (run.window.test, span)
    money, actions = window_money(s, span)
    rows = window_rows(run.test, money)
    m = run.metrics
    training = {"window": run.window.as_dict(), "imbalance_method": m["imbalance_method"], "params": m["params"],
                "calibrator": {n: c.get("chosen") for n, c in m.get("calibration", {}).items() if isinstance(c, dict)},
                "stepup_budget": m.get("stepup_budget"), "data_hash": m["data_hash"], "rows": m["rows"],
                "split_missing_attack_types": m.get("split_missing_attack_types", {}), "action_model": actions}
    return Window(span, training, _counts(run.test, rows), rows)
