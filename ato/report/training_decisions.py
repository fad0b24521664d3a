"""The training report's decision sections: the calibrator comparison on validation, the decisions
as taken on test (recall, legit challenge rate, false locks, campaigns stopped before money
moved), the step-up budget check, and the model's score distributions, legit and takeovers each
on its own axis with counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ato.model.evaluation import SCORERS
from ato.report.html import Page

if TYPE_CHECKING:
    from ato.model.training_run import TrainingRun

ACTION_COLORS = {"step_up_mfa": "tab:orange", "manual_review": "tab:purple", "temporary_lock": "tab:red"}


def _f(v: Any, spec: str = ".4f") -> str:
    return "–" if v is None else format(v, spec)


def _vals(v: list[Any], spec: str) -> str:
    return ", ".join(_f(x, spec) for x in v)


def calibration_tables(page: Page, run: TrainingRun) -> None:
    cal = run.metrics.get("calibration", {})
    if not cal:
        return
    page.heading("Calibrators compared on validation (fit on the earlier half of each fold's validation block, "
                 f"judged on the later half; rule: {cal['model'].get('rule', 'lowest log-loss')})")
    rows = []
    for scorer, c in cal.items():
        for t in c["trials"]:
            rows.append([scorer, t["method"] + (" ✔" if t["method"] == c["chosen"] else ""), _vals(t["log_loss"], ".5f"),
                         _vals(t["brier"], ".6f"), _vals(t["distinct_levels"], "d"), _vals(t["top_level_share"], ".3f"),
                         _vals(t["budget_spent"], ".4f") + " (± " + _vals(t.get("budget_tolerance", []), ".4f") + ")"])
    page.table(["scorer", "method", "log-loss per fold", "Brier per fold", "distinct levels", "share on the most common level",
                f"legit challenged at a {cal['model']['budget_checked']:.1%} budget set on the earlier half"], rows)


def decision_tables(page: Page, run: TrainingRun) -> None:
    m = run.metrics
    page.heading(f"Decisions as taken on test ({m['evaluated_against']}): any action but allow counts")
    rows = []
    for n in SCORERS:
        r = m["test"][n]
        pos, legit = r.get("actions_positive", {}), r.get("actions_legit", {})
        rows.append([n, _f(r.get("decision_recall")), _f(r.get("legit_challenge_rate")), _f(r.get("false_lock_rate")),
                     f"{r['n_positive'] - pos.get('allow', 0)}/{r['n_positive']}",
                     ", ".join(f"{a}={pos.get(a, 0)}" for a in ACTION_COLORS),
                     f"{r['n_legit'] - legit.get('allow', 0):,}/{r['n_legit']:,}",  # every legit login, failed too
                     _f(r.get("campaigns_stopped_before_money"), ".3f"),
                     _campaigns(r.get("campaigns"))])
    page.table(["scorer", "decision recall", "legit challenge rate (successful logins)", "false lock rate",
                "takeovers actioned", "takeovers by action", "legit actioned (all, failed too)",
                "campaigns stopped before money", "campaigns (stopped/all by type)"],
               rows)
    b = m.get("stepup_budget")
    if b:
        page.text(f"Step-up budget {b['budget']:.2%} of successful legit logins (threshold set on {b['n_legit_val']:,} "
                  f"successful validation legit logins): realised on {b['n_legit_test']:,} successful test legit logins "
                  f"{_f(b['realised'])}, tolerance "
                  f"±{b['tolerance']:.4f} (3 sd of the validation quantile and the test binomial) — "
                  f"{'within' if b['within'] else 'OUTSIDE'}.")
    page.text("Campaigns: a takeover campaign is stopped when a successful attacker login got step-up, review or lock at "
              "or before its first payment or account change (found in silver by the login's IP on the victim account).")


def _campaigns(c: dict[str, Any] | None) -> str:
    if not c or not c.get("campaigns"):
        return "–"
    return ", ".join(f"{k} {v['stopped']}/{v['campaigns']}" for k, v in c["by_attack_type"].items())


def score_distributions(page: Page, run: TrainingRun, y: np.ndarray) -> None:
    """Counts per log-spaced bin of the model's calibrated probability on test: legit logins on a
    log count axis, takeovers on their own linear axis, the tier thresholds drawn on both."""
    import matplotlib.pyplot as plt

    p = run.test["model_p"].to_numpy()
    lo = max(float(np.min(p[p > 0])) if (p > 0).any() else 1e-6, 1e-9)
    bins = np.logspace(np.log10(lo), 0, 50)
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.2))
    for a, sel, name, color, logy in ((ax[0], y == 0, "legit logins", "tab:blue", True),
                                      (ax[1], y == 1, "takeovers", "tab:red", False)):
        a.hist(np.clip(p[sel], lo, 1), bins=bins, color=color, alpha=0.8)
        for action, start in run.scorers["model"].tiers.starts.items():
            if 0 < start <= 1:
                a.axvline(start, color=ACTION_COLORS.get(action, "k"), ls="--", lw=1, label=f"{action} ≥ {start:.2g}")
        a.set(xscale="log", yscale="log" if logy else "linear", xlabel="calibrated probability (log scale)",
              ylabel="logins per bin" + (" (log scale)" if logy else ""),
              title=f"Model score, test: {name} (n = {int(sel.sum()):,})")
        a.legend(fontsize=8)
    page.figure(fig)
