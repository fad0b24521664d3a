"""HTML report of one training run: splits, the imbalance comparison and search, test metrics
of every scorer, the decisions as taken and the calibrator comparison, PR curves, calibration,
score distributions, the step-up budget and cost curves, feature importance and a SHAP summary,
and the sensitive-action model (its weighting on validation, and what it stops at the money move)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ato.model.calibration import reliability
from ato.model.evaluation import SCORERS, label_target, test_target
from ato.model.metrics import pr_curve, successful
from ato.model.tiers import Tiers, total_cost
from ato.report.html import Page, fmt
from ato.report.training_actions import action_tables
from ato.report.training_decisions import calibration_tables, decision_tables, score_distributions

if TYPE_CHECKING:
    from ato.model.training_run import TrainingRun
    from ato.settings import Settings

METRIC_COLS = ("pr_auc", "roc_auc", "precision", "recall", "f1", "recall_at_1pct_stepup", "false_lock_rate")


def _target(run: TrainingRun) -> np.ndarray:
    return test_target(run.test, run.extras["has_truth"])[0]


def _tables(page: Page, run: TrainingRun) -> None:
    m = run.metrics
    page.text(f"Version {m['version']}; window {run.window.as_dict()}; {run.rows:,} rows; data hash "
              f"{run.data_hash[:16]}; test evaluated against {m['evaluated_against']}; "
              f"{run.extras['dropped_accounts']} accounts with a training positive left out of val/test.")
    page.heading("Splits: labelled positives per block and attack type")
    page.table(["fold", "block", "positives by attack type"],
               [[f, b, ", ".join(f"{k}={v}" for k, v in d.items())] for f, blocks in run.splits.items() for b, d in blocks.items()])
    page.heading("Imbalance handling (default parameters; validation PR-AUC per fold)")
    page.table(["method", "val PR-AUC per fold", "mean", "best iterations"],
               [[t.method, ", ".join(f"{v:.4f}" for v in t.val_pr_auc), f"{t.mean:.4f}", t.best_iteration] for t in run.imbalance])
    page.heading(f"Parameter search with {run.chosen.method} (chosen: the highest mean)")
    page.table(["parameters", "val PR-AUC per fold", "mean"],
               [[t.params, ", ".join(f"{v:.4f}" for v in t.val_pr_auc), f"{t.mean:.4f}"] for t in run.search])
    page.heading(f"Test metrics ({m['evaluated_against']})")
    page.table(["scorer", *METRIC_COLS, "positives", "legit"],
               [[n, *[fmt(m["test"][n][c]) for c in METRIC_COLS], m["test"][n]["n_positive"], m["test"][n]["n_legit"]]
                for n in SCORERS])
    b = m.get("test_bootstrap")
    if b:
        page.heading(f"{b['level']:.0%} intervals (resampling the {b['positives']} test takeovers {b['resamples']} times)")
        keys = ["model", *[f"model_minus_{n}" for n in SCORERS if n != "model"]]
        page.table(["", "PR-AUC", "recall at 1 % step-up"],
                   [[k, b[k]["pr_auc_ci"], b[k]["recall_at_1pct_stepup_ci"]] for k in keys])
    page.heading("Recall at 1 % step-up and PR-AUC by attack type (test)")
    types = sorted({t for n in SCORERS for t in m["test"][n].get("recall_by_attack_type", {})})
    page.table(["attack type", "n", *[f"{n} r@1%" for n in SCORERS], *[f"{n} PR-AUC" for n in SCORERS]],
               [[t, m["test"]["model"]["recall_by_attack_type"].get(t, {}).get("n"),
                 *[fmt(m["test"][n]["recall_by_attack_type"].get(t, {}).get("recall_at_1pct_stepup")) for n in SCORERS],
                 *[fmt(m["test"][n]["recall_by_attack_type"].get(t, {}).get("pr_auc")) for n in SCORERS]] for t in types])
    page.heading("Actions (share of legit logins / of takeovers) and cost on test")
    page.table(["scorer", "legit", "takeovers", "test cost"],
               [[n, m["test"][n]["action_share_legit"], m["test"][n]["action_share_positive"], f"{m['test_cost'][n]:,.0f}"]
                for n in SCORERS])
    if "failed_attack_attempts" in m:
        page.text("Failed attack attempts (left out of the metrics above), share that got an action other than allow: "
                  + ", ".join(f"{n} {fmt(v['actioned_share'])}" for n, v in m["failed_attack_attempts"].items()))
    cmp_ = m.get("champion_on_same_test")
    if cmp_:
        page.text(f"Champion {cmp_['version']} on the same test rows: PR-AUC {fmt(cmp_['metrics']['pr_auc'])}, "
                  f"recall at 1% step-up {fmt(cmp_['metrics']['recall_at_1pct_stepup'])}.")
    decision_tables(page, run)
    calibration_tables(page, run)
    action_tables(page, run.metrics)
    page.heading("Thresholds (calibrated probability where each action starts)")
    page.table(["scorer", "calibrator", "tiers"],
               [[n, sc.calibrator.method, sc.tiers.starts] for n, sc in run.scorers.items()])


def _plots(page: Page, run: TrainingRun, s: Settings) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y, t = _target(run), run.test
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.2))
    for n in SCORERS:
        p, r = pr_curve(y, t[f"{n}_raw"].to_numpy())
        ax[0].plot(r, p, label=f"{n} (AP {run.metrics['test'][n]['pr_auc'] or 0:.3f})")
    ax[0].set(xlabel="recall", ylabel="precision", title="PR curves, test")
    ax[0].legend()
    for name, part, tgt in (("validation (labels)", run.val, label_target(run.val)), ("test", t, y)):
        mp, obs, counts = reliability(part["model_p"].to_numpy(), tgt)
        ax[1].scatter(np.clip(mp, 1e-6, 1), np.clip(obs, 1e-6, 1), s=12 + 30 * np.log10(counts + 1), label=name, alpha=0.7)
    ax[1].plot([1e-6, 1], [1e-6, 1], "k:", lw=1)
    ax[1].set(xscale="log", yscale="log", xlabel="mean predicted (log bins)", ylabel="observed rate (0 shown at 1e-6)",
              title=f"Calibration ({run.scorers['model'].calibrator.method}; marker size: logins in bin)")
    ax[1].legend()
    page.figure(fig)
    score_distributions(page, run, y)

    fig, ax = plt.subplots(1, 2, figsize=(12, 4.2))
    tiers = run.scorers["model"].tiers
    grid = np.logspace(-5, 0, 60)
    costs = [total_cost(Tiers({**tiers.starts, "step_up_mfa": g}).action(t["model_p"].to_numpy()), y, s.costs) for g in grid]
    ax[1].plot(grid, costs)
    if "step_up_mfa" in tiers.starts:
        ax[1].axvline(tiers.starts["step_up_mfa"], color="r", ls="--", label="chosen step-up threshold")
    ax[1].set(xscale="log", xlabel="step-up threshold (probability)", ylabel="total cost, test",
              title="Cost curve (other tiers fixed)")
    ax[1].legend()
    _budget_curve(ax[0], run, y)
    page.figure(fig)
    _importance(page, run)


def _budget_curve(ax: Any, run: TrainingRun, y: np.ndarray) -> None:
    """Share of successful legit logins (the budget's) reaching each step-up threshold, validation
    (labels) and test."""
    grid = np.logspace(-6, 0, 80)
    for name, part, tgt in (("validation (labels)", run.val, label_target(run.val)), ("test", run.test, y)):
        p = np.sort(part.loc[(tgt == 0) & successful(part), "model_p"].to_numpy())
        ax.plot(grid, 1 - np.searchsorted(p, grid, side="left") / max(len(p), 1), label=name)
    start = run.scorers["model"].tiers.starts.get("step_up_mfa")
    if start is not None and start <= 1:
        ax.axvline(start, color="r", ls="--", label="chosen step-up threshold")
    b = run.metrics.get("stepup_budget")
    if b:
        ax.axhline(b["budget"], color="k", ls=":", label=f"budget {b['budget']:.1%}")
    ax.set(xscale="log", yscale="log", xlabel="step-up threshold (probability)", ylabel="successful legit logins challenged (share)",
           title="Step-up budget: legit challenged vs threshold")
    ax.legend(fontsize=8)


def _importance(page: Page, run: TrainingRun) -> None:
    import matplotlib.pyplot as plt

    sc, t = run.scorers["model"], run.test
    gain = sc.booster.feature_importance(importance_type="gain")
    top = np.argsort(gain)[::-1][:20]
    rng = np.random.default_rng(0)
    y = _target(run)
    idx = np.sort(np.r_[np.flatnonzero(y == 1), rng.choice(np.flatnonzero(y == 0), min(3000, int((y == 0).sum())), replace=False)])
    sample = t.iloc[idx]
    contrib = sc.contributions(sample)[:, : len(sc.features)]
    X = sc.matrix(sample)
    mean_abs = np.abs(contrib).mean(axis=0)
    order = np.argsort(mean_abs)[::-1][:12]
    page.heading("Feature importance and SHAP summary (test sample: every takeover and 3,000 legit logins)")
    fig, ax = plt.subplots(1, 2, figsize=(13, 5.5))
    ax[0].barh([sc.features[i] for i in top][::-1], gain[top][::-1])
    ax[0].set(title="Feature importance (total gain)")
    for row, j in enumerate(order[::-1]):
        v = X[:, j]
        finite = np.isfinite(v)
        col = np.full(len(v), 0.5)
        if finite.any() and np.ptp(v[finite]) > 0:
            col[finite] = (v[finite] - v[finite].min()) / np.ptp(v[finite])
        ax[1].scatter(contrib[:, j], row + rng.uniform(-0.3, 0.3, len(v)), c=col, cmap="coolwarm", s=5, alpha=0.6)
    ax[1].set_yticks(range(len(order)), [sc.features[j] for j in order[::-1]])
    ax[1].axvline(0, color="k", lw=0.5)
    ax[1].set(xlabel="SHAP value (log-odds contribution)", title="SHAP summary (colour: feature value, low→high)")
    page.figure(fig)


def write_training_report(s: Settings, run: TrainingRun, folder: Path) -> Path:
    """report.html in the version folder, copied to paths.reports/training-<version>.html."""
    page = Page(f"ato-risk training run {run.metrics['version']}")
    _tables(page, run)
    _plots(page, run, s)
    html = page.render()
    (folder / "report.html").write_text(html)
    out = Path(s.paths.reports) / f"training-{run.metrics['version']}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html)
    return out
