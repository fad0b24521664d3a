"""Daily performance and business metrics, defined once, from counts.

The nightly `monitor` step (`ato.spark.monitor`) counts decision outcomes per group in Spark
(`COUNTS`, one row per day x model version x fallback level, and one per day) and this module
turns the counts into the metrics a fraud team reads. README "Monitoring" defines each in words;
the definitions below are the ones every table and report uses:

- shares of each action; precision and recall of each action (and of any challenge) against the
  labels known on the night (matured or not: `label_maturity` says how complete they are);
- `false_lock_rate`: locks on logins labelled legit over legit logins;
- `step_up_pass_rate`: step-ups later confirmed as passed by the customer (`step_up_passed`);
- `takeovers_allowed`: logins labelled takeover that were allowed;
- `est_*`: the same recall, precision and friction expected from the calibrated scores alone
  (a score p counts as p of a takeover), so a drop shows before labels arrive;
- `ato_rate_per_10k`: distinct accounts with a confirmed takeover per 10,000 active accounts;
- `friction_index`: challenges and locks of legit logins per 1,000 legit logins, each weighted
  by its cost in conf `costs` relative to one MFA challenge;
- `losses_prevented` (missed-takeover cost times the share each action stops), `friction_cost`
  (cost of the model's actions on legit logins, reviews on any login), `net_benefit` = losses
  prevented - friction cost, the same three for the rules alone on the same logins
  (`rules_*`), and `net_benefit_vs_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ato.model.actions import ACTIONS
from ato.settings import CostConf

SHORT = {"allow": "allow", "step_up_mfa": "step_up", "manual_review": "review", "temporary_lock": "lock"}
CHALLENGES = ("step_up_mfa", "manual_review", "temporary_lock")

# Counted in Spark per group (name -> meaning); `ato.spark.monitor.count_columns` builds them.
COUNTS: dict[str, str] = {
    "decisions": "decisions",
    "accounts": "distinct accounts decided",
    "ato_accounts": "distinct accounts with a login labelled takeover",
    "ato": "logins labelled takeover (ambiguous account-window labels left out)",
    "ambiguous": "account-window labels on logins at no new device, ASN or country (left out, as in training)",
    "legit": "logins labelled legit (reported or not)",
    "labelled": "logins with a label from a report (not `unreported`)",
    "confirmed_false_locks": "locks on logins a report confirmed legit",
    "step_up_passed": "step-ups the customer later passed",
    "calibrated": "decisions whose score is a model's calibrated probability",
    "cal_challenged": "... of them challenged",
    "est_ato": "sum of calibrated scores",
    "est_ato_challenged": "... over challenged decisions",
    "est_legit": "sum of (1 - score)",
    "est_legit_challenged": "... over challenged decisions",
    "rules_scored": "decisions the rules could score (features in the audit)",
    **{f"n_{SHORT[a]}": f"decisions with action {a}" for a in ACTIONS},
    **{f"ato_{SHORT[a]}": f"takeovers given {a}" for a in ACTIONS},
    **{f"legit_{SHORT[a]}": f"legit logins given {a}" for a in ACTIONS},
    **{f"rules_ato_{SHORT[a]}": f"takeovers the rules alone would give {a}" for a in ACTIONS},
    **{f"rules_legit_{SHORT[a]}": f"legit logins the rules alone would give {a}" for a in ACTIONS},
}


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den, NaN where den is 0 (no decision of that kind: no rate, not a zero rate)."""
    den = den.astype(float)
    return num.astype(float) / den.where(den > 0)


def _value(d: pd.DataFrame, prefix: str, c: CostConf) -> tuple[pd.Series, pd.Series]:
    """(losses prevented, friction cost) of the actions counted under `prefix` ('' or 'rules_')."""
    stops = {"allow": 0.0, "step_up_mfa": c.mfa_stops, "manual_review": c.review_stops, "temporary_lock": c.lock_stops}
    on_legit = {"allow": 0.0, "step_up_mfa": c.mfa_friction, "manual_review": c.review, "temporary_lock": c.false_lock}
    prevented = sum(d[f"{prefix}ato_{SHORT[a]}"] * c.missed_ato * stops[a] for a in ACTIONS)
    friction = sum(d[f"{prefix}legit_{SHORT[a]}"] * on_legit[a] for a in ACTIONS) + d[f"{prefix}ato_review"] * c.review
    return prevented.astype(float), friction.astype(float)


def derive(counts: pd.DataFrame, costs: CostConf) -> pd.DataFrame:
    """The metrics of each row of `counts` (columns: COUNTS, plus any keys), appended to it."""
    d = counts.copy()
    challenged = sum(d[f"n_{SHORT[a]}"] for a in CHALLENGES)
    ato_challenged = sum(d[f"ato_{SHORT[a]}"] for a in CHALLENGES)
    for a in ACTIONS:
        s = SHORT[a]
        d[f"share_{s}"] = _ratio(d[f"n_{s}"], d["decisions"])
        if a != "allow":
            d[f"precision_{s}"] = _ratio(d[f"ato_{s}"], d[f"n_{s}"])
            d[f"recall_{s}"] = _ratio(d[f"ato_{s}"], d["ato"])
    d["precision_challenged"] = _ratio(ato_challenged, challenged)
    d["recall_challenged"] = _ratio(ato_challenged, d["ato"])
    d["false_lock_rate"] = _ratio(d["legit_lock"], d["legit"])
    d["step_up_pass_rate"] = _ratio(d["step_up_passed"], d["n_step_up"])
    d["takeovers_allowed"] = d["ato_allow"]
    d["est_recall_challenged"] = _ratio(d["est_ato_challenged"], d["est_ato"])
    d["est_precision_challenged"] = _ratio(d["est_ato_challenged"], d["cal_challenged"])
    d["est_legit_challenged_share"] = _ratio(d["est_legit_challenged"], d["est_legit"])
    d["legit_challenged_share"] = _ratio(sum(d[f"legit_{SHORT[a]}"] for a in CHALLENGES), d["legit"])
    d["ato_rate_per_10k"] = _ratio(d["ato_accounts"], d["accounts"]) * 10_000
    weights = {"step_up_mfa": 1.0} | {a: (getattr(costs, k) / costs.mfa_friction if costs.mfa_friction else 1.0)
                                      for a, k in (("manual_review", "review"), ("temporary_lock", "false_lock"))}
    d["friction_index"] = _ratio(sum(d[f"legit_{SHORT[a]}"] * w for a, w in weights.items()), d["legit"]) * 1000
    prevented, friction = _value(d, "", costs)
    r_prevented, r_friction = _value(d, "rules_", costs)
    has_rules = d["rules_scored"] == d["decisions"]  # a comparison on part of the traffic would mislead
    d["losses_prevented"], d["friction_cost"] = prevented, friction
    d["net_benefit"] = prevented - friction
    d["rules_losses_prevented"] = r_prevented.where(has_rules)
    d["rules_friction_cost"] = r_friction.where(has_rules)
    d["net_benefit_vs_rules"] = (d["net_benefit"] - (r_prevented - r_friction)).where(has_rules)
    return d


def pooled(rows: pd.DataFrame, costs: CostConf) -> pd.Series:
    """The metrics of several rows (days, groups) taken together: their counts summed, then derived
    as for one row (missing count columns count 0). The distinct-account counts do not add up, so
    the pooled ATO rate is not meaningful; every ratio of logins is."""
    total = rows.reindex(columns=list(COUNTS), fill_value=0).sum().to_frame().T
    return derive(total, costs).iloc[0]


def maturity(delay_days: Sequence[float] | np.ndarray, ages: Sequence[float] | np.ndarray) -> np.ndarray:
    """Share of a day's eventual takeover labels known `ages` days after it, from the delays
    (report day - attack day) of the takeover labels seen so far: the empirical CDF at each age.
    NaN without any delay to learn from."""
    delays = np.sort(np.asarray(delay_days, dtype=float))
    if not len(delays):
        return np.full(len(ages), np.nan)
    return np.searchsorted(delays, np.asarray(ages, dtype=float), side="right") / len(delays)
