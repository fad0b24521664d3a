"""Model pieces without a JVM: resampling stays inside the training block, shuffled labels
learn nothing, cost tiers, reason codes (promotion: test_promotion_rules.py; the Freeman baseline
has its own tests in test_freeman.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ato.features.columns import CATEGORICAL_FEATURES, FEATURES
from ato.model import fit as fitmod
from ato.model.calibration import fit_calibrator, rank_matched
from ato.model.data import Encoder, Window, make_split
from ato.model.fit import Block, fit
from ato.model.metrics import evaluate
from ato.model.reasons import top_reasons
from ato.model.tiers import cap_false_locks, cost_tiers, expected_costs
from ato.settings import CostConf

pytestmark = pytest.mark.unit
DAY0 = date(2026, 8, 1)


def make_rows(days: int = 9, per_day: int = 1500, pos_rate: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """Training-set-shaped rows: takeovers mostly on new devices from new countries."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    y = (rng.random(n) < pos_rate).astype(int)
    df = pd.DataFrame({c: rng.poisson(2, n).astype(float) for c in FEATURES if c not in CATEGORICAL_FEATURES})
    df["new_device"] = np.where(y == 1, rng.random(n) < 0.95, rng.random(n) < 0.03).astype(float)
    df["new_country"] = np.where(y == 1, rng.random(n) < 0.8, rng.random(n) < 0.01).astype(float)
    df["hour_deviation"] = np.where(rng.random(n) < 0.1, np.nan, rng.random(n))
    for c in CATEGORICAL_FEATURES:
        df[c] = rng.choice(["a", "b", "c"], n)
    df["event_id"] = [f"lg_{i:06d}" for i in range(n)]
    df["account_id"] = [f"acct_{i:05d}" for i in rng.integers(0, 4000, n)]
    df["login_date"] = [DAY0 + timedelta(days=int(d)) for d in np.repeat(np.arange(days), per_day)]
    df["label"], df["label_weight"], df["label_source"] = y, 1.0, "unreported"
    df["attack_type"] = ["targeted_ato" if v == 1 else None for v in y]
    return df


WINDOW = Window((DAY0, DAY0 + timedelta(days=4)), (DAY0 + timedelta(days=5), DAY0 + timedelta(days=6)),
                (DAY0 + timedelta(days=7), DAY0 + timedelta(days=8)))
CAT = [FEATURES.index(c) for c in CATEGORICAL_FEATURES]


def _blocks(df: pd.DataFrame, y: np.ndarray) -> tuple[Block, Block, np.ndarray, np.ndarray]:
    sp = make_split(df, WINDOW)
    X = Encoder.fit(df[sp.train]).matrix(df, FEATURES)
    w = np.ones(len(df))
    return Block(X[sp.train], y[sp.train], w[sp.train]), Block(X[sp.val], y[sp.val], w[sp.val]), X[sp.test], sp.test


def _fit(method: str, train: Block, val: Block) -> fitmod.Fitted:
    return fit(method, fitmod.DEFAULT_PARAMS, train, val, CAT, seed=3, max_rounds=200, early_stop=20, smote_ratio=0.05)


def test_smote_only_ever_sees_training_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    df = make_rows()
    y = df["label"].to_numpy()
    train, val, _, _ = _blocks(df, y)
    seen: list[np.ndarray] = []
    real = fitmod.make_sampler

    def spy(*a: Any, **k: Any) -> Any:
        sampler = real(*a, **k)
        inner = sampler._fit_resample

        def record(X: np.ndarray, yy: np.ndarray, **kw: Any) -> Any:
            seen.append(np.asarray(X).copy())
            return inner(X, yy, **kw)

        sampler._fit_resample = record
        return sampler

    monkeypatch.setattr(fitmod, "make_sampler", spy)
    f = _fit("smote_nc", train, val)
    assert len(seen) == 1 and f.extra["synthetic_rows"] > 0
    assert np.array_equal(seen[0], train.imputed().X)  # exactly the training block, nothing else
    val_rows = {r.tobytes() for r in val.imputed().X}
    assert not any(r.tobytes() in val_rows for r in seen[0])


def test_a_constant_column_does_not_change_what_smote_nc_makes() -> None:
    """A feature constant in the training block (ring features before the first ring night) must
    leave the model as it was: SMOTE-NC would otherwise scale its categorical distances by a
    different median standard deviation and make other synthetic takeovers."""
    df = make_rows(seed=2)
    y = df["label"].to_numpy()
    train, val, X_test, _ = _blocks(df, y)
    base = _fit("smote_nc", train, val)

    def widen(X: np.ndarray) -> np.ndarray:  # two constant numeric columns at the end
        return np.hstack([X, np.zeros((len(X), 2))])

    wide = _fit("smote_nc", Block(widen(train.X), train.y, train.w), Block(widen(val.X), val.y, val.w))
    assert wide.extra["synthetic_rows"] == base.extra["synthetic_rows"] > 0
    assert np.allclose(wide.predict(widen(X_test)), base.predict(X_test))
    assert fitmod.varying_columns(widen(train.imputed().X), CAT) == list(range(train.X.shape[1]))


def test_shuffled_training_labels_fall_to_the_base_rate() -> None:
    df = make_rows()
    y = df["label"].to_numpy()
    train, val, X_test, test = _blocks(df, y)
    y_test = y[test]
    real = evaluate(y_test, _fit("none", train, val).predict(X_test), np.full(test.sum(), "allow"))
    shuffled = Block(train.X, np.random.default_rng(1).permutation(train.y), train.w)
    noise = evaluate(y_test, _fit("none", shuffled, val).predict(X_test), np.full(test.sum(), "allow"))
    base = y_test.mean()
    assert real["pr_auc"] > 0.5
    assert noise["pr_auc"] < 2 * base + 0.01, (noise["pr_auc"], base)


def test_same_seed_same_model() -> None:
    df = make_rows(seed=5)
    y = df["label"].to_numpy()
    train, val, X_test, _ = _blocks(df, y)
    a, b = _fit("class_weight", train, val), _fit("class_weight", train, val)
    assert a.booster.model_to_string() == b.booster.model_to_string()
    assert np.array_equal(a.predict(X_test), b.predict(X_test))


def test_cost_tiers_order_actions_and_the_lock_cap_limits_false_locks() -> None:
    c = CostConf()
    t = cost_tiers(c)
    assert list(t.starts) == sorted(t.starts, key=t.starts.__getitem__)
    p = np.linspace(0, 1, 1001)
    acts = t.action(p)
    costs = expected_costs(p, c)
    chosen = costs[np.arange(len(p)), [("allow", "step_up_mfa", "manual_review", "temporary_lock").index(a) for a in acts]]
    assert np.all(chosen <= costs.min(axis=1) + 1e-6)  # the tiers pick the cheapest action
    legit = np.r_[np.zeros(990), np.full(10, 0.99)]
    capped = cap_false_locks(t, legit, max_rate=0.002)
    assert (capped.action(legit) == "temporary_lock").mean() <= 0.002


def test_reasons_name_the_largest_positive_contributions() -> None:
    feats = ("new_device", "ip_accounts_1h", "hour_deviation")
    contrib = np.array([[0.1, 2.0, -1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    r = top_reasons(contrib, feats)
    assert r[0] == ["Network tried many accounts in the last 1h", "Device never seen on this account"]
    assert r[1] == []


def test_bootstrap_ci_brackets_the_point_estimate_and_separates_a_clear_winner() -> None:
    from sklearn.metrics import average_precision_score

    from ato.model.metrics import bootstrap_positives

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(5000), np.ones(30)].astype(int)
    good = np.r_[rng.normal(0, 1, 5000), rng.normal(2.5, 1, 30)]
    bad = rng.normal(0, 1, 5030)
    out = bootstrap_positives(y, {"model": good, "rules": bad}, n=200)
    lo, hi = out["model"]["pr_auc_ci"]
    assert lo <= average_precision_score(y, good) <= hi
    assert out["model_minus_rules"]["pr_auc_ci"][0] > 0  # clearly better: the CI is above zero
    assert out["model_minus_rules"]["recall_at_1pct_stepup_ci"][0] > 0


def test_reason_texts_keep_speed_windows_apart_from_30_day_history() -> None:
    from ato.model.reasons import reason_text

    assert reason_text("device_attempts_1h") == "Many attempts from this device in the last 1h"
    assert reason_text("device_attempts_30d") == "Device history (30 days)"
    assert reason_text("ip_failures_30d") == "IP address history (30 days)"
    assert reason_text("logins_30d") == "Unusual account behaviour (logins_30d)"


def test_one_row_path_scores_exactly_as_the_frame_path() -> None:
    """Serving's `score_row` (a dict per login) and training's `score` (a frame) agree, also for
    missing values, unseen categories and values of the wrong type."""
    from ato.model.bundle import Scorer
    from ato.model.calibration import Calibrator
    from ato.model.tiers import Tiers

    df = make_rows(per_day=300)
    y = df["label"].to_numpy()
    train, val, _, _ = _blocks(df, y)
    f = _fit("smote_nc", train, val)  # imputes missing values: the path serving's champion takes
    enc = Encoder.fit(df[make_split(df, WINDOW).train])
    scorer = Scorer("model", FEATURES, enc, f.booster, f.best_iteration, f.impute,
                    Calibrator((0.0, 1.0), (0.0, 1.0)), Tiers({"step_up_mfa": 0.5}))
    rows = df.head(50).copy()
    rows.loc[rows.index[:5], "outcome"] = "never-seen-outcome"
    rows.loc[rows.index[5:10], "new_device"] = np.nan
    _, p, action = scorer.score(rows)
    dicts = rows.to_dict("records")
    dicts[10]["logins_30d"] = "not a number"  # slow path: parsed value by value, unparseable as missing
    one = [scorer.score_row(d) for d in dicts]
    assert type(scorer._row_predictor).__name__ == "RowPredictor", "LightGBM's single-row fast path is in use"
    assert np.allclose([o[0] for o in one[:10] + one[11:]], np.delete(p, 10))
    assert [o[1] for o in one[:10]] == list(action[:10])
    slow = rows.iloc[[10]].assign(logins_30d=np.nan)
    assert one[10][0] == pytest.approx(float(scorer.score(slow)[1][0]))


def test_refit_on_validation_learns_a_tactic_that_starts_there() -> None:
    """model.refit_on_val: a tactic first seen in the validation days (takeovers on the owner's
    device and country, told apart only by one other signal) is invisible to the booster fitted on
    the training days and learnt by the same booster refitted on training + validation days."""
    from sklearn.metrics import average_precision_score

    df = make_rows(seed=9)
    sig = next(c for c in FEATURES if c not in (*CATEGORICAL_FEATURES, "new_device", "new_country", "hour_deviation"))
    rng = np.random.default_rng(1)
    new = (df["label"] == 1).to_numpy() & (df["login_date"] >= WINDOW.val[0]).to_numpy()
    df.loc[new, "new_device"] = (rng.random(new.sum()) < 0.03).astype(float)
    df.loc[new, "new_country"] = 0.0
    df.loc[new, sig] = df.loc[new, sig] + 8
    y = df["label"].to_numpy()
    train, val, X_test, test = _blocks(df, y)
    f = _fit("none", train, val)
    both = Block(np.vstack([train.X, val.X]), np.concatenate([train.y, val.y]), np.concatenate([train.w, val.w]))
    r = fitmod.refit(f, both, CAT, seed=3, smote_ratio=0.05)
    assert r.best_iteration == f.best_iteration and r.params == f.params and r.method == f.method
    assert r.extra["refit"]["train_rows"] == len(train.y) + len(val.y)
    ap_f = average_precision_score(y[test], f.predict(X_test))
    ap_r = average_precision_score(y[test], r.predict(X_test))
    assert ap_r > ap_f + 0.3, (ap_f, ap_r)
    # its calibrator carried over by rank on the test rows: above f's top-1 % threshold both flag
    # the same share of test, and the refitted booster's flags catch more of the tactic
    cal = fit_calibrator("isotonic_interp", f.predict(val.X), val.y, val.w, logit_in=True)
    carried = rank_matched(cal, r.predict(X_test), f.predict(X_test))
    pf, pr = cal(f.predict(X_test)), carried(r.predict(X_test))
    t = float(np.quantile(pf, 0.99))
    assert abs(float((pr >= t).mean()) - float((pf >= t).mean())) < 0.003
    assert y[test][pr >= t].sum() > y[test][pf >= t].sum()
    # refitted on validation too, the test block leaves out accounts with a takeover in validation
    sp, spr = make_split(df, WINDOW), make_split(df, WINDOW, refit=True)
    in_val = set(df.loc[sp.val & (y == 1), "account_id"])
    assert in_val & set(df.loc[sp.test, "account_id"]) and not in_val & set(df.loc[spr.test, "account_id"])
    assert (spr.test <= sp.test).all() and spr.val.tolist() == sp.val.tolist()
