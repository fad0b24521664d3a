"""The two baselines the model must beat, scored on the same blocks: the analyst rules
(conf/rules.yaml, their own actions) and the Freeman et al. (2016) per-user statistical RBA
model (calibrated and tiered on validation like the model)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from ato.model.data import Window, load_silver_logins
from ato.model.metrics import successful
from ato.model.tiers import calibrate_and_tier
from ato.settings import Settings

HISTORY_DAYS = 30  # the Freeman history reaches this far before the window


def rules_block(s: Settings, *parts: pd.DataFrame) -> None:
    """Add rules_raw / rules_p (the rule score) and rules_action to each part."""
    from ato.model.rules import load_rules

    rules = load_rules(s.model.rules)
    for part in parts:
        r = rules.score_frame(part)
        part["rules_raw"] = r.score
        part["rules_p"] = r.score
        part["rules_action"] = r.action


def freeman_block(s: Settings, w: Window, val: pd.DataFrame, test: pd.DataFrame, w_val: np.ndarray) -> dict[str, Any]:
    """Add freeman_rba_raw / _p / _action to val and test. The population counts only logins
    before the validation block; the calibrator (chosen on validation's halves) and tiers are fit
    on validation labels. Returns the calibrator comparison."""
    from ato.model.freeman import LOGIN_COLUMNS, freeman_scores

    logins = load_silver_logins(s, w.start - timedelta(days=HISTORY_DAYS), w.end, LOGIN_COLUMNS)
    until = pd.Timestamp(w.val[0], tz="UTC")
    scored = freeman_scores(logins, global_until=until, alpha=s.model.freeman_alpha)
    score = dict(zip(scored["event_id"], scored["freeman_score"], strict=True))
    for part in (val, test):
        part["freeman_rba_raw"] = part["event_id"].map(score).astype(float).fillna(0.0).to_numpy()
    cal, tiers, choice = calibrate_and_tier(val["freeman_rba_raw"].to_numpy(), val["label"].to_numpy(), w_val, s,
                                            success_val=successful(val))
    for part in (val, test):
        part["freeman_rba_p"] = cal(part["freeman_rba_raw"].to_numpy())
        part["freeman_rba_action"] = tiers.action(part["freeman_rba_p"].to_numpy())
    return choice
