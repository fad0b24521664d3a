"""The action rows' label (linked to an attacker login of the account, same IP, before it, within
three days), the action model's thresholds (spend at most the budget of legit actions), and days
without any action (a world younger than the label maturity)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ato.sensitive.model import threshold_for
from ato.sensitive.rows import build_action_rows, label_actions

if TYPE_CHECKING:
    from ato.settings import Settings

pytestmark = pytest.mark.unit


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def test_an_action_is_a_takeovers_from_the_attacker_logins_ip_after_it_and_within_three_days() -> None:
    attackers = pd.DataFrame({"event_id": ["L1"], "account_id": ["a"], "event_time": [ts("2026-08-03 10:00")],
                              "ip_hash": ["evil"], "label_source": ["analyst"], "attack_type": ["targeted_ato"]})
    actions = pd.DataFrame({
        "event_id": ["same-ip", "before", "other-ip", "other-acct", "too-late", "no-ip"],
        "account_id": ["a", "a", "a", "b", "a", "a"],
        "ip_hash": ["evil", "evil", "home", "evil", "evil", None],
        "event_time": [ts("2026-08-03 10:30"), ts("2026-08-03 09:59"), ts("2026-08-03 10:30"),
                       ts("2026-08-03 10:30"), ts("2026-08-06 10:01"), ts("2026-08-03 10:30")],
    })
    out = label_actions(actions, attackers).set_index("event_id")
    assert out["label"].to_dict() == {"same-ip": 1, "before": 0, "other-ip": 0, "other-acct": 0, "too-late": 0,
                                      "no-ip": 0}
    assert out.loc["same-ip", "attacker_login_id"] == "L1"
    assert out.loc["same-ip", "label_source"] == "analyst" and out.loc["other-ip", "label_source"] == "unreported"
    assert out.loc["same-ip", "attack_type"] == "targeted_ato" and pd.isna(out.loc["before", "attack_type"])
    assert len(out) == len(actions), "one row per action, however many logins match"


def test_the_step_up_threshold_challenges_at_most_the_budget_even_with_ties() -> None:
    legit = np.array([0.1] * 95 + [0.5] * 3 + [0.9] * 2)
    t = threshold_for(legit, 0.04)
    assert (legit >= t).mean() <= 0.04
    assert (legit >= t).mean() == 0.02, "the tied block of three at 0.5 would overspend: it stays below"
    assert (legit >= threshold_for(legit, 0.05)).mean() == 0.05, "the block of five at 0.5 and 0.9 fits exactly"


def test_days_without_actions_write_nothing_and_clear_what_a_run_before_wrote(settings: Settings) -> None:
    from ato import deltars
    from ato.tables import ACTION_TRAINING

    d1, d2, kept = date(2026, 7, 18), date(2026, 7, 19), date(2026, 7, 20)
    assert build_action_rows(settings, [d1, d2]) == 0, "no silver events at all: a young world's first nights"
    assert not deltars.exists(settings, "gold", ACTION_TRAINING), "no table typed from nothing"

    earlier = pa.table({"event_id": ["x1", "x2", "x3"], "action_date": [d1, d2, kept]})
    deltars.write(settings, "gold", ACTION_TRAINING, earlier, partition_by=["action_date"])
    assert build_action_rows(settings, [d1, d2]) == 0
    left = deltars.read(settings, "gold", ACTION_TRAINING).to_pandas()
    assert left["event_id"].tolist() == ["x3"], "the re-run days are as empty as their events; other days stay"
    version = deltars.version(settings, "gold", ACTION_TRAINING)
    assert build_action_rows(settings, [d1, d2]) == 0
    assert deltars.version(settings, "gold", ACTION_TRAINING) == version, "nothing held to delete: no commit"
