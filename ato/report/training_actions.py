"""The training report's section on the sensitive-action model (`ato.sensitive.model`): the class
weighting each candidate reached on validation (the better one is kept), the thresholds set on
validation's legit actions, its metrics per block, and what it adds at the money move: takeover
campaigns stopped by the login decisions alone vs with the action model's stops (test)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ato.model.evaluation import SCORERS
from ato.report.html import fmt

if TYPE_CHECKING:
    from ato.report.html import Page

BLOCK_COLS = ("actions", "takeover_actions", "legit_actions", "pr_auc", "recall", "legit_challenge_rate",
              "locked_legit")


def action_tables(page: Page, metrics: dict[str, Any]) -> None:
    """From a training run's metrics; says so when the run had no action rows to learn from."""
    a = metrics.get("actions")
    page.heading("Sensitive-action model (payments and account changes, scored when money moves)")
    if not a:
        page.text("No action model in this version: gold/action_training_set had no rows, no validation "
                  "day or no takeover action in its training days.")
        return
    page.text(f"Days: {', '.join(f'{k} {v[0]}..{v[-1]}' for k, v in a['days'].items() if v)}. "
              f"Budget: {a['budget']:.2%} of validation's legit actions stepped up.")
    page.table(["class weighting", "validation PR-AUC", "kept"],
               [[w, fmt(ap), "yes" if w == a["weighting"] else ""]
                for w, ap in a["validation_pr_auc_by_weighting"].items()])
    page.table(["block", *BLOCK_COLS], [[b, *[fmt(a[b].get(c)) for c in BLOCK_COLS]]
                                         for b in ("train", "validation", "test") if b in a])
    page.table(["action", "starts at score"], [[k, f"{v:.4g}"] for k, v in a["thresholds"].items()])
    rows = [[n, fmt(t["campaigns"].get("campaigns_stopped_by_login")), fmt(t.get("campaigns_stopped_before_money")),
             f"{t['campaigns'].get('campaigns_stopped', '–')} of {t['campaigns'].get('campaigns', '–')}"]
            for n in SCORERS if isinstance((t := metrics["test"][n]).get("campaigns"), dict)]
    if rows:
        page.text("Takeover campaigns stopped at or before their first money move, test: by the login "
                  "decisions alone, and with the action model stopping the money move itself.")
        page.table(["login scorer", "by login alone", "with action stops", "campaigns stopped"], rows)
