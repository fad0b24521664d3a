"""`ato evaluate` on the small world's backfilled lake: three one-day rolling test windows, each
scored by a model trained on the days before it, bootstrap intervals per window and pooled,
metrics.json and the HTML report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ato.model.evaluate import run_evaluation
from ato.model.evaluate_world import load_eval_conf
from ato.progress import QUIET
from ato.settings import Settings
from tests.conftest import model_settings

pytestmark = pytest.mark.spark
SCORERS = {"model", "fallback", "rules", "freeman_rba"}


def _cells(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict) and "value" in node and "ci" in node:
        return [node]
    return [c for v in node.values() for c in _cells(v)] if isinstance(node, dict) else []


def test_three_rolling_windows_with_intervals(backfilled: tuple[Settings, Any], small_world: tuple[Path, Path, Any],
                                              tmp_path: Path) -> None:
    # training rows 08-01..08-06: windows 08-04, 08-05, 08-06, each trained on 2 days, validated on 1
    s = model_settings(backfilled[0].paths.lake_root, small_world[1], tmp_path, train_days=2, search_trials=1)
    conf = load_eval_conf(root=tmp_path / "eval", windows=3, window_days=1, resamples=200)
    doc, path, report = run_evaluation(conf, QUIET, build=False, settings=s)

    assert [w["test"] for w in doc["windows"]] == [["2026-08-04"] * 2, ["2026-08-05"] * 2, ["2026-08-06"] * 2]
    for w in doc["windows"]:
        first_test = w["test"][0]
        assert w["training"]["window"]["val"][1] < first_test  # trained and validated before its window
        assert w["counts"]["takeovers"] > 0 and w["counts"]["legit"] > 100
        assert set(w["metrics"]) == SCORERS
    assert set(doc["pooled"]["metrics"]) == SCORERS
    assert doc["pooled"]["counts"]["takeovers"] == sum(w["counts"]["takeovers"] for w in doc["windows"])
    m = doc["pooled"]["metrics"]["model"]["all"]
    assert {"decision_recall", "legit_challenge_rate", "false_lock_rate", "recall_at_1pct_stepup", "pr_auc",
            "campaigns_stopped_before_money", "campaigns_stopped_by_login"} <= set(m)
    assert m["campaigns_stopped_by_login"]["value"] <= m["campaigns_stopped_before_money"]["value"]
    for w in doc["windows"]:  # an action model per window, fitted up to its last day and tested on it
        assert w["training"]["action_model"]["days"]["test"] == [w["test"][1]], w["training"]["action_model"]
    assert set(doc["attack_types"]) <= set(doc["pooled"]["metrics"]["rules"])

    cells = _cells({"w": [w["metrics"] for w in doc["windows"]], "p": doc["pooled"]["metrics"]} | {
        f"w{i}": w["metrics"] for i, w in enumerate(doc["windows"])})
    with_ci = [c for c in cells if c["ci"] is not None]
    assert len(with_ci) > 50
    for c in with_ci:
        assert c["ci"][0] - 1e-12 <= c["value"] <= c["ci"][1] + 1e-12, c
    per_window = [(w["metrics"]["model"]["all"]["recall_at_1pct_stepup"]["ci"],
                   w["metrics"]["model"]["all"]["legit_challenge_rate"]["ci"]) for w in doc["windows"]]
    assert len({json.dumps(x) for x in per_window}) == 3  # each window has its own intervals

    saved = json.loads(path.read_text())
    assert saved["goals"] and {g["what"] for g in saved["goals"]} >= {"decision recall", "test takeovers >= 300"}
    assert "Goals (pooled point estimates)" in report.read_text()
