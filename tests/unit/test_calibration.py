"""Calibrators, their choice on validation halves, the step-up budget and campaigns stopped
before money moved, without a JVM."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ato.model.calibration import Calibrator, fit_calibrator, logit, rank_matched
from ato.model.calibration_choice import Part, budget_start, choose, compare
from ato.model.campaigns import campaigns_stopped
from ato.model.metrics import budget_tolerance
from ato.model.tiers import Tiers, cost_tiers, spend_budget
from ato.settings import CostConf

pytestmark = pytest.mark.unit
METHODS = ["platt", "isotonic_interp", "isotonic"]


def scores(n: int = 40_000, pos_rate: float = 0.003, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Booster-like probabilities: positives shifted up on the log-odds scale, few of them."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < pos_rate).astype(int)
    z = rng.normal(-7.0, 1.2, n) + 4.0 * y
    return 1 / (1 + np.exp(-z)), y


@pytest.mark.parametrize("method", METHODS)
def test_every_calibrator_is_monotone_scalar_equals_vector_and_survives_json(method: str) -> None:
    raw, y = scores()
    cal = fit_calibrator(method, raw, y, np.ones(len(y)), logit_in=True)
    grid = np.sort(raw[:2000])
    p = cal(grid)
    assert np.all(np.diff(p) >= 0) and np.all((p >= 0) & (p <= 1))
    assert [float(cal(v)) for v in grid[:50]] == list(p[:50])  # serving's scalar call, bit for bit
    again = Calibrator.from_json(cal.to_json())
    assert again == cal and np.array_equal(again(grid), p)


def test_a_bundle_written_before_the_new_methods_still_loads_as_isotonic() -> None:
    old = Calibrator.from_json({"x": [0.0, 0.5, 1.0], "y": [0.0, 0.1, 0.9]})
    assert old.method == "isotonic" and float(old(0.75)) == pytest.approx(0.5)


def test_isotonic_puts_most_logins_on_one_level_the_smooth_calibrators_keep_the_ranking() -> None:
    raw, y = scores()
    half = len(y) // 2
    trials = {t.method: t.as_dict() for t in compare([Part(raw, y, np.ones(len(y)))], METHODS, logit_in=True, budget=0.01)}
    iso = trials["isotonic"]
    assert iso["distinct_levels"][0] < 40
    assert iso["top_level_share"][0] > 0.5  # nearly every login on one step
    for m in ("platt", "isotonic_interp"):
        assert trials[m]["distinct_levels"][0] > 10 * iso["distinct_levels"][0]
    # the smooth calibrators spend a 1 % budget set on the earlier half within tolerance on the later half
    tol = budget_tolerance(0.01, half, half)
    assert abs(trials["platt"]["budget_spent"][0] - 0.01) <= tol
    assert trials["platt"]["mean_log_loss"] < iso["mean_log_loss"]  # the smooth map wins on held-out log-loss
    assert choose(compare([Part(raw, y, np.ones(len(y)))], METHODS, logit_in=True, budget=0.01)) == "platt"


def test_a_calibrator_too_coarse_to_spend_the_budget_is_left_out_even_with_the_best_log_loss() -> None:
    from ato.model.calibration_choice import CalibrationTrial

    steps = CalibrationTrial("isotonic", [0.00044], [6.7e-5], [7], [0.99], [0.0069], [0.0018])
    smooth = CalibrationTrial("platt", [0.00053], [1.0e-4], [1667], [0.15], [0.0092], [0.0018])
    assert choose([steps, smooth]) == "isotonic"  # no budget: log-loss alone
    assert choose([steps, smooth], budget=0.01) == "platt"
    assert choose([steps], budget=0.01) == "isotonic"  # none spends it: log-loss among all


def test_no_fold_that_can_judge_falls_back_to_the_first_candidate() -> None:
    part = Part(np.linspace(0, 1, 100), np.zeros(100), np.ones(100))  # no positives anywhere
    trials = compare([part], METHODS, logit_in=True, budget=0.01)
    assert all(t.mean_log_loss is None for t in trials) and choose(trials) == "platt"


def test_the_budget_sets_step_up_and_keeps_review_and_lock_cost_based_above_it() -> None:
    rng = np.random.default_rng(1)
    p_val, p_test = rng.beta(0.3, 60, 20_000), rng.beta(0.3, 60, 20_000)  # same legit population, other days
    base = cost_tiers(CostConf())
    t = spend_budget(base, p_val, 0.01)
    assert (p_val >= t.starts["step_up_mfa"]).mean() <= 0.01
    assert t.starts["manual_review"] == base.starts["manual_review"] > t.starts["step_up_mfa"]
    realised = float((t.action(p_test) != "allow").mean())
    assert abs(realised - 0.01) <= budget_tolerance(0.01, len(p_val), len(p_test))
    # a budget larger than the cost-based review threshold allows: review and lock start with step-up
    tight = spend_budget(Tiers({"step_up_mfa": 0.5, "manual_review": 0.6, "temporary_lock": 0.7}), p_val, 0.01)
    assert set(tight.action(np.array([tight.starts["step_up_mfa"]]))) == {"step_up_mfa"}
    wide = spend_budget(Tiers({"step_up_mfa": 1e-6, "manual_review": 1e-5}), p_val, 0.01)
    assert wide.starts["manual_review"] == wide.starts["step_up_mfa"]
    assert wide.action_one(wide.starts["step_up_mfa"]) == "manual_review"  # a tie goes to the more severe


def test_budget_start_counts_ties_against_the_budget() -> None:
    p = np.r_[np.zeros(90), np.full(10, 0.5)]  # 10 % tied at the top
    assert budget_start(p, 0.05) > 0.5  # taking the tie would spend 10 %, so none of it
    assert budget_start(p, 0.10) <= 0.5 and budget_start(p, 1.0) == 0.0


def test_tolerance_shrinks_with_more_legit_logins() -> None:
    assert budget_tolerance(0.01, 1_000, 1_000) == pytest.approx(3 * np.sqrt(0.0099 * 0.002))
    assert budget_tolerance(0.01, 100_000, 160_000) < 0.002


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-08-22T{s}Z")


def test_a_campaign_counts_as_stopped_only_when_a_decision_came_before_its_money_moved() -> None:
    rows = pd.DataFrame([
        # campaign, account, ip, time, action: 1 stopped in time; 2 flagged after cash-out; 3 never;
        # 4 flagged and never cashed out; 5 low-and-slow caught at its second login, before the cash-out
        (1, "a1", "ip1", "08:00", "step_up_mfa", "targeted_ato"),
        (2, "a2", "ip2", "09:00", "allow", "session_hijack"),
        (2, "a2", "ip2", "11:00", "temporary_lock", "session_hijack"),
        (3, "a3", "ip3", "09:00", "allow", "targeted_ato"),
        (4, "a4", "ip4", "09:00", "manual_review", "fraud_ring"),
        (5, "a5", "ip5", "09:00", "allow", "low_and_slow"),
        (5, "a5", "ip5", "12:00", "step_up_mfa", "low_and_slow"),
    ], columns=["truth_campaign", "account_id", "ip_hash", "event_time", "action", "truth_attack_type"])
    rows["event_time"] = rows["event_time"].map(_t)
    rows["truth"] = 1
    legit = pd.DataFrame({"truth_campaign": [-1], "account_id": ["a9"], "ip_hash": ["ip9"], "event_time": [_t("07:00")],
                          "action": ["step_up_mfa"], "truth_attack_type": [None], "truth": [0]})
    test = pd.concat([rows, legit], ignore_index=True)
    money = pd.DataFrame({
        "account_id": ["a1", "a2", "a3", "a5", "a5", "a1"],
        "ip_hash": ["ip1", "ip2", "ip3", "ip5", "home", "home"],  # the owners' own payments do not count
        "event_time": [_t("08:20"), _t("10:00"), _t("09:30"), _t("12:10"), _t("10:00"), _t("07:59")]})
    out = campaigns_stopped(test, test["action"].to_numpy(), money)
    assert out["campaigns"] == 5 and out["campaigns_stopped"] == 3  # 1, 4 and 5
    assert out["campaigns_stopped_before_money"] == pytest.approx(0.6)
    assert out["takeovers_with_money_move"] == 4
    assert out["by_attack_type"]["session_hijack"] == {"campaigns": 1, "stopped": 0}
    assert out["campaigns_stopped_by_login"] == pytest.approx(0.6), "no money move scored: the same"

    # the action model stopped campaign 2's first money move (10:00): stopped at the money move; it
    # stopped campaign 3's only at a later move (the first one went through): not stopped
    later = pd.DataFrame({"account_id": ["a3"], "ip_hash": ["ip3"], "event_time": [_t("09:45")]})
    scored = pd.concat([money, later], ignore_index=True).assign(stopped=[False, True, False, False, False, False, True])
    out = campaigns_stopped(test, test["action"].to_numpy(), scored)
    assert out["campaigns_stopped"] == 4 and out["campaigns_stopped_before_money"] == pytest.approx(0.8)
    assert out["campaigns_stopped_by_login"] == pytest.approx(0.6)
    assert out["by_attack_type"]["session_hijack"] == {"campaigns": 1, "stopped": 1}


@pytest.mark.parametrize("method", METHODS)
def test_a_calibrator_rank_matched_to_another_booster_gives_the_same_probability_by_rank(method: str) -> None:
    """model.refit_on_val: booster B orders the reference rows like A but on another scale (here
    a monotone transform of A's log-odds); carried over by rank, B's probabilities equal what `cal`
    gives A on the same rows, within the knots' interpolation, and survive JSON."""
    raw, y = scores(seed=5)
    cal = fit_calibrator(method, raw, y, np.ones(len(y)), logit_in=True)
    ref, _ = scores(n=20_000, seed=6)
    other = 1 / (1 + np.exp(-(2.5 * logit(ref) + 9.0)))  # B: same order, other scale
    carried = rank_matched(cal, other, ref)
    assert carried.method == f"{method}+rank_matched" and carried.logit_in == cal.logit_in
    want, got = cal(ref), carried(other)
    assert np.all(np.diff(carried(np.sort(other))) >= -1e-12)
    top = ref >= np.quantile(ref, 0.95)  # where the action thresholds sit, the knots are dense
    close = np.isclose(got[top], want[top], rtol=0.02, atol=1e-6)
    assert close.mean() > 0.99, close.mean()  # a step of isotonic's can fall between two knots
    for t in np.quantile(want, [0.9, 0.99, 0.999]):  # the volumes tiers are set by
        assert abs(float((got >= t).mean()) - float((want >= t).mean())) < 0.001
    assert abs(np.mean(got) - np.mean(want)) < 0.1 * np.mean(want)
    again = Calibrator.from_json(json.loads(json.dumps(carried.to_json())))
    np.testing.assert_array_equal(again(other), got)
    with pytest.raises(ValueError, match="same reference rows"):
        rank_matched(cal, other[:5], ref[:6])
