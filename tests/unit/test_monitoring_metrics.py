"""Business and performance metrics from counts (ato.monitoring.metrics), checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ato.monitoring.metrics import COUNTS, derive, maturity
from ato.settings import CostConf

pytestmark = pytest.mark.unit


def _counts(**over: float) -> pd.DataFrame:
    row = dict.fromkeys(COUNTS, 0) | over
    return pd.DataFrame([row])


def test_metrics_of_one_day_by_hand() -> None:
    c = _counts(decisions=1000, accounts=400, ato_accounts=2, ato=10, legit=990, n_allow=950, n_step_up=40, n_review=5,
                n_lock=5, ato_allow=2, ato_step_up=4, ato_review=1, ato_lock=3, legit_allow=948, legit_step_up=36,
                legit_review=4, legit_lock=2, step_up_passed=30, calibrated=1000, cal_challenged=50, est_ato=12.0,
                est_ato_challenged=9.0, est_legit=988.0, est_legit_challenged=41.0, rules_scored=1000,
                rules_ato_allow=6, rules_ato_step_up=4, rules_legit_allow=980, rules_legit_step_up=10)
    costs = CostConf(missed_ato=500, mfa_friction=1, false_lock=40, review=8, mfa_stops=0.8, review_stops=0.9,
                     lock_stops=1.0)
    d = derive(c, costs).iloc[0]
    assert d["share_step_up"] == 0.04 and d["precision_lock"] == 0.6 and d["recall_step_up"] == 0.4
    assert d["recall_challenged"] == 0.8 and d["precision_challenged"] == 8 / 50
    assert d["false_lock_rate"] == 2 / 990 and d["step_up_pass_rate"] == 0.75 and d["takeovers_allowed"] == 2
    assert d["est_recall_challenged"] == 0.75 and d["est_precision_challenged"] == 9 / 50
    assert d["ato_rate_per_10k"] == 50.0
    assert d["friction_index"] == pytest.approx((36 + 4 * 8 + 2 * 40) / 990 * 1000)
    prevented = 500 * (4 * 0.8 + 1 * 0.9 + 3 * 1.0)
    friction = 36 * 1 + 4 * 8 + 2 * 40 + 1 * 8  # reviews cost on a takeover too
    assert d["losses_prevented"] == pytest.approx(prevented) and d["friction_cost"] == pytest.approx(friction)
    rules_net = 500 * 4 * 0.8 - 10 * 1
    assert d["net_benefit_vs_rules"] == pytest.approx(prevented - friction - rules_net)


def test_no_decision_of_a_kind_gives_no_rate_and_partial_rules_give_no_comparison() -> None:
    d = derive(_counts(decisions=10, accounts=5, legit=10, n_allow=10, legit_allow=10, rules_scored=7), CostConf()).iloc[0]
    assert math.isnan(d["precision_lock"]) and math.isnan(d["recall_challenged"]) and d["false_lock_rate"] == 0
    assert math.isnan(d["net_benefit_vs_rules"]) and d["net_benefit"] == 0


def test_maturity_is_the_report_delay_cdf() -> None:
    delays = np.array([0, 1, 1, 3, 30, 100])
    assert list(maturity(delays, [0, 1, 2, 30, 120])) == [1 / 6, 3 / 6, 3 / 6, 5 / 6, 1.0]
    assert math.isnan(maturity([], [3])[0])
