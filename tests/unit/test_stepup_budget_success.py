"""The step-up budget is spent on successful legit logins only: failed logins (label 0, e.g. the
many failed credential-stuffing attempts) challenge no customer, so they must neither use the
budget on validation nor count in the realised legit challenge rate; they still get an action."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ato.model.calibration_choice import Part, compare, halves
from ato.model.evaluate_bootstrap import ALL, ScorerRows, WindowRows, bootstrap
from ato.model.evaluate_windows import window_rows
from ato.model.evaluation import budget_check
from ato.model.metrics import budget_tolerance, evaluate
from ato.model.tiers import calibrate_and_tier
from ato.settings import Settings

pytestmark = pytest.mark.unit


def validation(n_ok: int = 30_000, n_failed: int = 30_000, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Booster-like scores in event-time order: successful logins (few takeovers among them) and
    as many failed label-0 logins scoring high, as failed credential stuffing does."""
    rng = np.random.default_rng(seed)
    y_ok = (rng.random(n_ok) < 0.004).astype(int)
    z = np.r_[rng.normal(-7.0, 1.2, n_ok) + 4.5 * y_ok, rng.normal(-3.5, 1.0, n_failed)]
    y = np.r_[y_ok, np.zeros(n_failed, dtype=int)]
    success = np.r_[np.ones(n_ok, dtype=bool), np.zeros(n_failed, dtype=bool)]
    order = rng.permutation(len(y))  # failures spread over the block, as in a day
    return 1 / (1 + np.exp(-z[order])), y[order], np.ones(len(y))[order], success[order]


def test_failed_label0_logins_do_not_shrink_the_step_up_threshold(settings: Settings) -> None:
    raw, y, w, success = validation()
    budget = settings.model.stepup_budget
    assert budget == 0.01
    cal, tiers, _ = calibrate_and_tier(raw, y, w, settings, logit_in=True, success_val=success)
    p = cal(raw)
    legit_ok = (y == 0) & success
    spent = float((tiers.action(p[legit_ok]) != "allow").mean())
    # the budget is spent on the successful legit logins (a quantile of them: at most, and close to, 1 %)
    assert spent <= budget and spent >= budget - budget_tolerance(budget, int(legit_ok.sum()), int(legit_ok.sum()))
    # counting the failed logins as if they were customers, the same validation challenges far fewer
    cal_all, tiers_all, _ = calibrate_and_tier(raw, y, w, settings, logit_in=True)
    spent_all = float((tiers_all.action(cal_all(raw)[legit_ok]) != "allow").mean())
    assert spent_all < budget / 3 < spent
    # a failed login still gets an action: the high-scoring failed attempts are challenged or worse
    assert (tiers.action(p[~success]) != "allow").mean() > 0.5


def test_the_step_up_threshold_ignores_how_many_failed_logins_validation_has(settings: Settings) -> None:
    few = validation(n_failed=1_000)
    many = validation(n_failed=60_000)
    starts = []
    for raw, y, w, success in (few, many):
        cal, tiers, _ = calibrate_and_tier(raw, y, w, settings, logit_in=True, success_val=success)
        legit_ok = (y == 0) & success
        starts.append(float((tiers.action(cal(raw[legit_ok])) != "allow").mean()))
    assert starts[0] == pytest.approx(starts[1], abs=0.002) and min(starts) > 0.007


def test_calibrator_choice_judges_the_budget_on_successful_legit_logins() -> None:
    raw, y, w, success = validation()
    part = Part(raw, y, w, success)
    early, late = halves(part)
    assert early.success is not None and late.success is not None
    assert len(early.success) + len(late.success) == len(y) and not early.budget_legit()[~early.success].any()
    trial = compare([part], ["platt"], logit_in=True, budget=0.01)[0]
    n_late = int(late.budget_legit().sum())
    assert trial.budget_tolerance[0] == pytest.approx(budget_tolerance(0.01, int(early.budget_legit().sum()), n_late))
    assert trial.spends(0.01)
    # the same rows without the outcome: the failures take the early half's budget, so it is not spent
    # on the successful logins of the later half (measured there on every label-0 login instead)
    assert Part(raw, y, w).budget_legit().sum() > part.budget_legit().sum()


def test_realised_challenge_rate_counts_successful_legit_logins_only() -> None:
    y = np.array([0, 0, 0, 0, 1, 0])
    success = np.array([True, True, False, False, True, True])
    action = np.array(["allow", "step_up_mfa", "step_up_mfa", "temporary_lock", "manual_review", "allow"], dtype=object)
    m = evaluate(y, np.linspace(0, 1, 6), action, success=success)
    assert m["legit_challenge_rate"] == pytest.approx(1 / 3)  # 1 of the 3 successful legit logins
    assert m["n_legit_successful"] == 3 and m["n_legit"] == 5
    assert m["failed_legit_actioned_share"] == 1.0  # the failed ones still got their actions
    assert m["false_lock_rate"] == pytest.approx(1 / 5)  # a lock locks the owner out: every legit login counts
    assert evaluate(y, np.linspace(0, 1, 6), action)["legit_challenge_rate"] == pytest.approx(3 / 5)


def test_bootstrap_and_window_rows_count_successful_legit_logins_in_the_challenge_rate() -> None:
    t0 = pd.Timestamp("2026-09-01T10:00:00Z")
    test = pd.DataFrame({
        "truth": [0, 0, 0, 1], "truth_attack_type": [None, None, None, "targeted_ato"], "truth_campaign": [-1, -1, -1, 3],
        "outcome": ["success", "failure", "success", "success"], "account_id": ["a", "b", "c", "d"],
        "ip_hash": ["i1", "i2", "i3", "x"], "event_time": [t0 + pd.Timedelta(minutes=k) for k in range(4)],
        "model_raw": [0.1, 0.9, 0.2, 0.8], "model_action": ["allow", "temporary_lock", "allow", "step_up_mfa"]})
    money = pd.DataFrame({"account_id": ["d"], "ip_hash": ["x"], "event_time": [t0 + pd.Timedelta(hours=1)]})
    w = window_rows(test, money, ("model",))
    r = w.scorers["model"]
    assert r.legit_success is not None and list(r.legit_success) == [True, False, True]
    m = bootstrap([w], 20, seed=0)["windows"][0]["model"][ALL]
    assert m["legit_challenge_rate"]["value"] == 0.0 and m["legit_challenge_rate"]["n"] == 2
    assert m["false_lock_rate"]["value"] == pytest.approx(1 / 3)
    rows = ScorerRows(np.array([1.0]), np.array([True]), np.zeros(4), np.array([True, True, False, False]),
                      np.zeros(4, dtype=bool), np.array([True]), np.array([True, False, True, False]))
    one = WindowRows(np.array(["t"], dtype=object), np.array([0]), np.array(["t"], dtype=object), {"model": rows})
    assert bootstrap([one], 10, seed=0)["windows"][0]["model"][ALL]["legit_challenge_rate"]["value"] == 0.5


def test_budget_check_compares_on_successful_legit_logins(settings: Settings) -> None:
    val = pd.DataFrame({"label": [0, 0, 0, 1], "label_weight": [1.0, 1.0, 1.0, 1.0], "label_source": ["none"] * 4,
                        "new_device": [0] * 4, "new_asn": [0] * 4, "new_country": [0] * 4,
                        "outcome": ["success", "failure", "success", "success"]})
    b = budget_check(settings, val, {"n_legit": 10, "n_legit_successful": 8, "legit_challenge_rate": 0.01})
    assert b is not None and b["n_legit_val"] == 2 and b["n_legit_test"] == 8
