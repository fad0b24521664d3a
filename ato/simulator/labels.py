"""Delayed, noisy labels: most takeovers reported days later, some never; a few false reports,
some later corrected by analysts; legit logins confirmed by passed step-ups."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ato.simulator.config import SimulatorConfig

DAY_MS = 86_400_000


def make_labels(cfg: SimulatorConfig, logins: pd.DataFrame, payments: pd.DataFrame,
                end_ms: int, rng: np.random.Generator) -> pd.DataFrame:
    """Labels as they would arrive by `end_ms` (later reports have not arrived yet)."""
    lc = cfg.labels
    rows: list[dict[str, object]] = []
    attack = logins[logins["attack"] != ""]
    won = attack[attack["outcome"] == "success"].sort_values("t")
    first_try = attack.groupby(["account", "campaign"])["t"].min()
    paid = set(zip(payments.loc[payments["attack"] != "", "account"], payments.loc[payments["attack"] != "", "campaign"], strict=False))
    for (acct, cid), g in won.groupby(["account", "campaign"], sort=True):
        if rng.random() >= lc.report_rate:
            continue
        delay = min(lc.delay_days_max, float(rng.lognormal(np.log(lc.delay_days_median), 0.8)))
        first = g.iloc[0]
        reported = int(first["t"] + delay * DAY_MS)
        if reported > end_ms:
            continue
        rows.append({
            "account_id": acct,
            "login_event_id": first["event_id"] if rng.random() < 0.7 else None,
            "label": "ato",
            "source": "chargeback" if (acct, cid) in paid and rng.random() < 0.5 else "customer_report",
            "reported_at": reported,
            "attack_started_at": int(first_try[(acct, cid)]) if rng.random() < 0.8 else None,
            "attack_type": first["attack"],  # the analyst's classification of the case
        })
    legit = logins[(logins["attack"] == "") & (logins["outcome"] == "success")]
    n_false = int(rng.poisson(lc.false_report_rate * cfg.accounts * cfg.days / 30))
    for i in rng.choice(len(legit), size=min(n_false, len(legit)), replace=False):
        row = legit.iloc[int(i)]
        reported = int(row["t"] + rng.uniform(1, 10) * DAY_MS)
        if reported > end_ms:
            continue
        rows.append({"account_id": row["account"], "login_event_id": row["event_id"] if rng.random() < 0.5 else None,
                     "label": "ato", "source": "customer_report", "reported_at": reported, "attack_started_at": None,
                     "attack_type": None})
        fixed = reported + int(rng.uniform(1, 7) * DAY_MS)
        if rng.random() < 0.5 and fixed <= end_ms:  # an analyst looks and corrects it
            rows.append({"account_id": row["account"], "login_event_id": row["event_id"], "label": "legit",
                         "source": "analyst", "reported_at": fixed, "attack_started_at": None, "attack_type": None})
    step = legit[rng.random(len(legit)) < lc.step_up_legit_rate]
    for acct, eid, t in zip(step["account"], step["event_id"], step["t"], strict=True):
        rows.append({"account_id": acct, "login_event_id": eid, "label": "legit", "source": "step_up_passed",
                     "reported_at": int(t) + int(rng.integers(20_000, 180_000)), "attack_started_at": None,
                     "attack_type": None})
    cols = ["account_id", "login_event_id", "label", "source", "reported_at", "attack_started_at", "attack_type"]
    return pd.DataFrame(rows, columns=cols).sort_values(["reported_at", "account_id"], kind="stable").reset_index(drop=True)
