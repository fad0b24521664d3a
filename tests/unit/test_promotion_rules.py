"""The registry's promotion rules without a JVM: a challenger must win on the champion's own test
window, keep recall, spend no more step-up budget and keep every part the champion has; rollback
restores the champion before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ato.model import registry
from ato.settings import load_settings

pytestmark = pytest.mark.unit


def _version(root: Path, name: str, pr_auc: float, recall: float, champ: dict[str, Any] | None = None,
             action_model: bool = False, challenged: float = 0.011) -> None:
    d = root / name
    d.mkdir(parents=True)
    (d / "bundle.json").write_text("{}")
    if action_model:  # the registry looks only at the file's presence, as serving does
        (d / "action_model.txt").write_text("tree\n")
    m = {"test": {"model": {"pr_auc": pr_auc, "recall_at_1pct_stepup": recall},
                  "rules": {"pr_auc": 0.1, "recall_at_1pct_stepup": 0.2}},
         "champion_on_same_test": champ, "stepup_budget": {"budget": 0.01, "realised": challenged, "tolerance": 0.003}}
    (d / "metrics.json").write_text(json.dumps(m))


def test_promotion_needs_a_win_on_the_same_test_window_and_rollback_restores(tmp_path: Path) -> None:
    s = load_settings(environ={"ATO_MODEL_DIR": str(tmp_path)})
    _version(tmp_path, "v1", 0.5, 0.6)
    assert registry.promote(s, "v1").promote  # beats the rules
    _version(tmp_path, "v2", 0.4, 0.6, {"version": "v1", "metrics": {"pr_auc": 0.5, "recall_at_1pct_stepup": 0.6}})
    with pytest.raises(registry.PromotionRefused, match="not better"):
        registry.promote(s, "v2")
    _version(tmp_path, "v3", 0.7, 0.3, {"version": "v1", "metrics": {"pr_auc": 0.5, "recall_at_1pct_stepup": 0.6}})
    with pytest.raises(registry.PromotionRefused, match="loses recall"):
        registry.promote(s, "v3")
    _version(tmp_path, "v4", 0.7, 0.6, {"version": "v0", "metrics": {"pr_auc": 0.1, "recall_at_1pct_stepup": 0.1}})
    with pytest.raises(registry.PromotionRefused, match="not compared with the current champion"):
        registry.promote(s, "v4")
    # better ranked, but its thresholds challenge 12 % of legit logins on its test days (budget 1 %)
    _version(tmp_path, "v6", 0.74, 0.96, {"version": "v1", "metrics": {"pr_auc": 0.5, "recall_at_1pct_stepup": 0.6}},
             challenged=0.121)
    with pytest.raises(registry.PromotionRefused, match=r"overspends the step-up budget on its test days: 12.10%"):
        registry.promote(s, "v6")
    _version(tmp_path, "v5", 0.7, 0.6, {"version": "v1", "metrics": {"pr_auc": 0.5, "recall_at_1pct_stepup": 0.6}})
    assert registry.promote(s, "v5").promote and registry.champion(s) == "v5"
    assert registry.rollback(s) == "v1" and registry.champion(s) == "v1"
    with pytest.raises(registry.PromotionRefused):
        registry.rollback(s)  # v1 replaced nothing


def test_a_challenger_that_adds_the_action_model_needs_only_a_login_model_not_worse(tmp_path: Path) -> None:
    """The demo's case: a champion from before action scoring, a challenger with the same login
    metrics plus an action model. Promoted; a worse login model is still refused, naming both."""
    s = load_settings(environ={"ATO_MODEL_DIR": str(tmp_path)})
    _version(tmp_path, "v1", 0.5, 0.6)
    assert registry.promote(s, "v1").promote
    same = {"version": "v1", "metrics": {"pr_auc": 0.5, "recall_at_1pct_stepup": 0.6}}
    _version(tmp_path, "v2", 0.5, 0.6, same)  # the same login model, nothing added: not better
    with pytest.raises(registry.PromotionRefused, match=r"^not better"):
        registry.promote(s, "v2")
    _version(tmp_path, "v3", 0.4, 0.6, same, action_model=True)  # lower PR-AUC
    with pytest.raises(registry.PromotionRefused,
                       match=r"^worse login model: test PR-AUC 0\.4000 vs champion v1 0\.5000.*adds the action model"):
        registry.promote(s, "v3")
    _version(tmp_path, "v4", 0.6, 0.5, same, action_model=True)  # better PR-AUC, loses 0.1 recall
    with pytest.raises(registry.PromotionRefused, match=r"^loses recall: .*adds the action model champion v1 lacks"):
        registry.promote(s, "v4")
    _version(tmp_path, "v5", 0.5, 0.59, same, action_model=True)  # equal PR-AUC, recall within the drop
    v = registry.promote(s, "v5")
    assert v.promote and registry.champion(s) == "v5"
    assert v.why.startswith("adds the action model champion v1 lacks, login model not worse: test PR-AUC 0.5000")
    assert registry.history(s)[-1]["why"] == v.why
    assert registry.parts(s, "v5") == {"action model"} and registry.parts(s, "v1") == frozenset()
    # Both have the action model now: the plain rule again.
    _version(tmp_path, "v6", 0.5, 0.59, {"version": "v5", "metrics": {"pr_auc": 0.5, "recall_at_1pct_stepup": 0.59}},
             action_model=True)
    with pytest.raises(registry.PromotionRefused, match=r"^not better"):
        registry.promote(s, "v6")
    # The reverse: a better login model without the action model the champion has would switch
    # action scoring off in serving: refused, naming the part.
    _version(tmp_path, "v7", 0.9, 0.9, {"version": "v5", "metrics": {"pr_auc": 0.5, "recall_at_1pct_stepup": 0.59}})
    with pytest.raises(registry.PromotionRefused, match=r"^it lacks the action model champion v5 has"):
        registry.promote(s, "v7")
    assert registry.champion(s) == "v5"


def test_a_better_challenger_that_adds_a_part_says_so() -> None:
    s = load_settings(environ={})
    v = registry.compare({"pr_auc": 0.6, "recall_at_1pct_stepup": 0.6}, {"pr_auc": 0.5, "recall_at_1pct_stepup": 0.6},
                         s, "champion v1", ["action model"])
    assert v.promote and v.why.startswith("better: ") and v.why.endswith("; adds the action model champion v1 lacks")
