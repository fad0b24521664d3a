"""The training report's action-model section from a run's metrics, without a JVM or a world."""

from __future__ import annotations

from typing import Any

import pytest

from ato.report.html import Page
from ato.report.training_actions import action_tables

pytestmark = pytest.mark.unit

BLOCK = {"actions": 900, "takeover_actions": 9, "legit_actions": 891, "pr_auc": 0.41, "recall": 0.5,
         "legit_challenge_rate": 0.011, "locked_legit": 0}


def _metrics(actions: dict[str, Any] | None) -> dict[str, Any]:
    test = {n: {"campaigns_stopped_before_money": 0.75,
                "campaigns": {"campaigns": 8, "campaigns_stopped": 6, "campaigns_stopped_by_login": 0.5}}
            for n in ("model", "fallback", "rules", "freeman_rba")}
    return {"actions": actions, "test": test}


def test_the_section_shows_the_weighting_kept_on_validation_and_the_stops_it_adds() -> None:
    page = Page("t")
    action_tables(page, _metrics({
        "budget": 0.01, "weighting": "sqrt_ratio", "thresholds": {"temporary_lock": 0.9, "step_up_mfa": 0.2},
        "validation_pr_auc_by_weighting": {"none": 0.30, "sqrt_ratio": 0.35},
        "days": {"train": ["2026-08-01", "2026-08-04"], "validation": ["2026-08-05"], "test": ["2026-08-06"]},
        "train": BLOCK, "validation": BLOCK, "test": BLOCK}))
    html = page.render()
    assert "<td>sqrt_ratio</td><td>0.3500</td><td>yes</td>" in html
    assert "<td>none</td><td>0.3000</td><td></td>" in html
    assert "<td>model</td><td>0.5000</td><td>0.7500</td><td>6 of 8</td>" in html


def test_a_run_without_action_rows_says_so() -> None:
    page = Page("t")
    action_tables(page, _metrics(None))
    assert "No action model in this version" in page.render()
