"""The evaluation's pure parts: window planning, the bootstrap (point estimates equal the plain
metrics, intervals are seeded and shrink with more data, campaigns move their takeovers together,
pooling sums the windows), the goals, and the evaluation profile."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from ato.model.evaluate import goals
from ato.model.evaluate_bootstrap import ALL, ScorerRows, WindowRows, bootstrap
from ato.model.evaluate_windows import plan_windows, window_rows
from ato.model.evaluate_world import eval_environ, load_eval_conf, simulator_config
from ato.model.metrics import budget_threshold

pytestmark = pytest.mark.unit


def test_windows_are_consecutive_oldest_first_and_end_on_the_last_day() -> None:
    spans = plan_windows(date(2026, 9, 5), 3, 5)
    assert spans == [(date(2026, 8, 22), date(2026, 8, 26)), (date(2026, 8, 27), date(2026, 8, 31)),
                     (date(2026, 9, 1), date(2026, 9, 5))]
    for (_, a), (b, _) in itertools.pairwise(spans):
        assert b - a == timedelta(days=1)
    assert plan_windows(date(2026, 9, 5), 1, 1) == [(date(2026, 9, 5), date(2026, 9, 5))]


def _window(rng: np.random.Generator, n_legit: int, camps: int, shift: float = 2.0) -> WindowRows:
    """Campaigns of 1-4 takeovers of two types; takeovers score higher than legit logins by `shift`."""
    sizes = rng.integers(1, 5, camps)
    pos_campaign = np.repeat(np.arange(camps), sizes)
    camp_type = np.where(np.arange(camps) % 2 == 0, "targeted_ato", "fraud_ring").astype(object)
    legit = rng.normal(0, 1, n_legit)
    scorers = {}
    for name, s in (("model", shift), ("rules", shift / 4)):
        pos = rng.normal(s, 1, len(pos_campaign))
        thr = np.quantile(legit, 0.99)
        scorers[name] = ScorerRows(pos, pos > thr, legit, legit > thr, legit > np.quantile(legit, 0.9995),
                                   rng.random(camps) < 0.8)
    return WindowRows(camp_type[pos_campaign], pos_campaign, camp_type, scorers)


def test_point_estimates_are_the_plain_metrics() -> None:
    rng = np.random.default_rng(1)
    w = _window(rng, 5000, 60)
    out = bootstrap([w], resamples=20, seed=3)["windows"][0]
    r = w.scorers["model"]
    thr = budget_threshold(r.legit_score)
    m = out["model"][ALL]
    assert m["recall_at_1pct_stepup"]["value"] == pytest.approx((r.pos_score > thr).mean())
    assert m["decision_recall"]["value"] == pytest.approx(r.pos_flag.mean())
    assert m["legit_challenge_rate"]["value"] == pytest.approx(r.legit_flag.mean())
    assert m["false_lock_rate"]["value"] == pytest.approx(r.legit_lock.mean())
    assert m["campaigns_stopped_before_money"]["value"] == pytest.approx(r.camp_stopped.mean())
    y = np.r_[np.ones(len(r.pos_score)), np.zeros(len(r.legit_score))]
    ap = average_precision_score(y, np.r_[r.pos_score, r.legit_score])  # no ties: the same number
    assert m["pr_auc"]["value"] == pytest.approx(ap)
    sel = w.pos_type == "fraud_ring"
    assert out["model"]["fraud_ring"]["recall_at_1pct_stepup"]["value"] == pytest.approx((r.pos_score[sel] > thr).mean())
    assert out["model"]["fraud_ring"]["recall_at_1pct_stepup"]["n"] == int(sel.sum())


def test_intervals_contain_the_estimate_are_seeded_and_shrink_with_more_data() -> None:
    small = _window(np.random.default_rng(2), 3000, 30)
    large = _window(np.random.default_rng(2), 30000, 300)
    a, b = bootstrap([small], 200, seed=5), bootstrap([small], 200, seed=5)
    big_out = bootstrap([large], 200, seed=5)["windows"][0]["model"][ALL]
    assert a == b
    assert bootstrap([small], 200, seed=6) != a
    for metric in ("recall_at_1pct_stepup", "pr_auc", "decision_recall", "legit_challenge_rate"):
        c = a["windows"][0]["model"][ALL][metric]
        assert c["ci"][0] <= c["value"] <= c["ci"][1], metric
        big = big_out[metric]
        assert big["ci"][1] - big["ci"][0] < c["ci"][1] - c["ci"][0], metric


def test_a_campaign_moves_its_takeovers_together() -> None:
    """One campaign of 50 takeovers, all caught, and one of 50, all missed: the interval of recall
    is as wide as two coin flips, not as narrow as 100 independent takeovers."""
    rng = np.random.default_rng(0)
    legit = rng.normal(0, 1, 2000)
    pos = np.r_[np.full(50, 10.0), np.full(50, -10.0)]
    r = ScorerRows(pos, pos > 0, legit, legit > 3, legit > 5, np.array([True, False]))
    w = WindowRows(np.full(100, "fraud_ring", dtype=object), np.repeat([0, 1], 50), np.array(["fraud_ring"] * 2, dtype=object),
                   {"model": r})
    c = bootstrap([w], 400, seed=1)["windows"][0]["model"][ALL]["recall_at_1pct_stepup"]
    assert c["value"] == 0.5 and c["ci"] == [0.0, 1.0]


def test_pooled_sums_the_windows_and_types_missing_from_a_window_are_none() -> None:
    rng = np.random.default_rng(4)
    w1, w2 = _window(rng, 4000, 40), _window(rng, 6000, 20, shift=1.0)
    w2 = WindowRows(np.full(len(w2.pos_type), "targeted_ato", dtype=object), w2.pos_campaign,
                    np.full(len(w2.camp_type), "targeted_ato", dtype=object), w2.scorers)
    out = bootstrap([w1, w2], 50, seed=0)
    rec = [o["model"][ALL]["recall_at_1pct_stepup"] for o in out["windows"]]
    pooled = out["pooled"]["model"][ALL]["recall_at_1pct_stepup"]
    assert pooled["n"] == rec[0]["n"] + rec[1]["n"]
    assert pooled["value"] == pytest.approx((rec[0]["value"] * rec[0]["n"] + rec[1]["value"] * rec[1]["n"]) / pooled["n"])
    assert out["windows"][1]["model"]["fraud_ring"]["recall_at_1pct_stepup"]["value"] is None
    assert out["pooled"]["model"]["fraud_ring"]["recall_at_1pct_stepup"]["n"] == rec[0]["n"] - int((w1.pos_type == "targeted_ato").sum())
    assert rec[0]["ci"] != rec[1]["ci"]


def test_window_rows_from_scored_test_rows() -> None:
    t0 = pd.Timestamp("2026-09-01T10:00:00Z")
    test = pd.DataFrame({
        "truth": [0, 0, 1, 1, -1, 1], "truth_attack_type": [None, None, "fraud_ring", "fraud_ring", "targeted_ato", "targeted_ato"],
        "truth_campaign": [-1, -1, 7, 7, 9, 8], "account_id": ["a", "b", "c", "d", "e", "f"],
        "ip_hash": ["i1", "i2", "x", "x", "y", "z"], "event_time": [t0 + pd.Timedelta(minutes=k) for k in range(6)],
        "model_raw": [0.1, 0.2, 0.9, 0.3, 0.5, 0.8],
        "model_action": ["allow", "temporary_lock", "step_up_mfa", "allow", "allow", "allow"]})
    money = pd.DataFrame({"account_id": ["c"], "ip_hash": ["x"], "event_time": [t0 + pd.Timedelta(hours=1)]})
    w = window_rows(test, money, ("model",))
    assert list(w.pos_type) == ["fraud_ring", "fraud_ring", "targeted_ato"]
    assert list(w.camp_type) == ["fraud_ring", "targeted_ato"]  # campaigns 7, 8 (9 only failed)
    r = w.scorers["model"]
    assert list(r.pos_flag) == [True, False, False] and list(r.legit_lock) == [False, True]
    assert list(r.camp_stopped) == [True, False]


def test_goals_judge_the_pooled_estimates() -> None:
    def m(v: float) -> dict[str, object]:
        return {"value": v, "ci": [v - 0.1, v + 0.1], "n": 10}

    metrics = {"model": {ALL: {"decision_recall": m(0.95), "legit_challenge_rate": m(0.011), "false_lock_rate": m(0.0),
                               "campaigns_stopped_before_money": m(0.97)},
                         "fraud_ring": {"recall_at_1pct_stepup": m(0.9), "pr_auc": m(0.5)}},
               "fallback": {ALL: {"recall_at_1pct_stepup": m(0.4)}},
               "rules": {"fraud_ring": {"recall_at_1pct_stepup": m(0.95), "pr_auc": m(0.1)}},
               "freeman_rba": {"fraud_ring": {"recall_at_1pct_stepup": m(0.2), "pr_auc": m(0.2)}}}
    counts = {"takeovers": 320, "takeovers_by_type": {"fraud_ring": 320}}
    doc = {"attack_types": ["fraud_ring"], "pooled": {"counts": counts, "metrics": metrics},
           "windows": [{"counts": counts, "metrics": metrics}]}
    met = {g["what"]: g["met"] for g in goals(doc)}
    assert met["test takeovers >= 300"] and met["takeovers per attack type >= 30"]
    assert met["decision recall"] and not met["legit challenge rate (successful legit logins)"] and met["false-lock rate"]
    assert met["campaigns stopped before money moved"] and not met["fallback recall at 1 % step-up"]
    assert not met["fraud_ring: recall at 1 % step-up, above rules and Freeman RBA"]  # rules catch more
    assert met["fraud_ring: PR-AUC above rules and Freeman RBA"]


def test_the_evaluation_profile_raises_attack_rates_and_has_its_own_root(tmp_path: object) -> None:
    conf = load_eval_conf()
    sim = simulator_config(conf)
    assert conf.accounts > 10_000 and conf.days > 45 and conf.windows >= 3
    demo = load_eval_conf(simulator={})
    base = simulator_config(demo)["campaigns"]
    assert all(sim["campaigns"][k] > v for k, v in base.items())
    env = eval_environ(conf)
    assert "data/lake" not in env["ATO_LAKE_ROOT"] and env["ATO_LAKE_ROOT"].startswith(str(conf.root))


def test_document_report_and_console_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The metrics.json body from scored windows, its goals, the HTML page and the console lines."""
    from ato.cli.summaries import print_evaluation
    from ato.model.evaluate import assemble
    from ato.model.evaluate_windows import Window
    from ato.report.evaluation import write_evaluation_report

    rng = np.random.default_rng(9)
    done = []
    for k, span in enumerate(plan_windows(date(2026, 9, 5), 3, 5)):
        rows = _window(rng, 3000 + 1000 * k, 20 + 5 * k)
        types, n = np.unique(rows.pos_type.astype(str), return_counts=True)
        counts = {"takeovers": len(rows.pos_type), "legit": 3000 + 1000 * k, "failed_attack_attempts": 0,
                  "takeovers_by_type": dict(zip(types.tolist(), n.tolist(), strict=True)),
                  "campaigns": len(rows.camp_type), "campaigns_by_type": {}}
        training = {"window": {"train": ["2026-08-01", "2026-08-14"]}, "imbalance_method": "none",
                    "calibrator": {"model": "platt"}}
        done.append(Window(span, training, counts, rows))
    doc = assemble(done, 50, seed=1)
    doc["goals"] = goals(doc)
    doc["world"] = {"root": "data/eval", "accounts": 12000, "days": 50, "windows": 3, "window_days": 5,
                    "campaigns": {}, "build_seconds": None}
    assert doc["pooled"]["counts"]["takeovers"] == sum(w.counts["takeovers"] for w in done)
    json.dumps(doc)
    page = write_evaluation_report(doc, tmp_path / "r" / "evaluation.html").read_text()
    assert "Goals (pooled point estimates)" in page and "2026-09-01..2026-09-05" in page and "<img" in page
    print_evaluation(doc)
    out = capsys.readouterr().out
    assert "decision recall" in out and "test 2026-08-22..2026-08-26" in out
