"""HTML section (and page) of `ato evaluate`: takeovers per window, the goals met or not, every
metric per window and pooled with its bootstrap interval, model vs rules vs Freeman RBA by
attack type, and a plot of recall at 1 % step-up per window with intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ato.model.evaluate_bootstrap import (
    ALL,
    CAMPAIGN_METRIC,
    LEGIT_METRICS,
    LOGIN_CAMPAIGN_METRIC,
    POS_METRICS,
)
from ato.report.html import Page

SCORERS = ("model", "fallback", "rules", "freeman_rba")
METRICS = (*POS_METRICS, *LEGIT_METRICS, CAMPAIGN_METRIC, LOGIN_CAMPAIGN_METRIC)


def cell(c: dict[str, Any] | None) -> str:
    """'0.912 [0.871, 0.944]' (– when there is nothing to measure)."""
    if not c or c.get("value") is None:
        return "–"
    ci = c.get("ci")
    return f"{c['value']:.4f}" + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "")


def _blocks(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [*((f"{w['test'][0]}..{w['test'][1]}", w["metrics"]) for w in doc["windows"]),
            ("pooled", doc["pooled"]["metrics"])]


def evaluation_section(page: Page, doc: dict[str, Any]) -> None:
    """Append the evaluation to `page`."""
    world, b = doc["world"], doc["bootstrap"]
    page.heading("Evaluation world and windows")
    page.text(f"{world['accounts']:,} accounts x {world['days']} days under {world['root']}; campaigns per 30 days at "
              f"10,000 accounts {world['campaigns']}. {len(doc['windows'])} test windows of {world['window_days']} days, "
              f"each scored by a model trained only on the days before it. {b['level']:.0%} percentile intervals from "
              f"{b['resamples']} bootstrap draws (campaigns and legit logins resampled, seed {b['seed']}); pooled "
              f"metrics sum the windows' numerators and denominators (each window at its own model's thresholds). "
              f"legit_challenge_rate counts successful legit logins (password check passed: only those can challenge "
              f"a customer; failed logins still get an action); false locks, recall at 1 % and PR-AUC count every "
              f"legit login.")
    types = doc["attack_types"]
    rows = [[f"{w['test'][0]}..{w['test'][1]}", w["training"]["window"]["train"], w["training"]["imbalance_method"],
             w["training"]["calibrator"].get("model"), w["counts"]["takeovers"],
             *[w["counts"]["takeovers_by_type"].get(t, 0) for t in types], w["counts"]["campaigns"],
             f"{w['counts']['legit']:,} ({w['counts'].get('legit_successful', w['counts']['legit']):,})"]
            for w in doc["windows"]]
    c = doc["pooled"]["counts"]
    rows.append(["pooled", "", "", "", c["takeovers"], *[c["takeovers_by_type"].get(t, 0) for t in types],
                 c["campaigns"], f"{c['legit']:,} ({c.get('legit_successful', c['legit']):,})"])
    page.table(["test window", "trained on", "imbalance", "calibrator", "takeovers", *types, "campaigns",
                "legit (successful)"], rows)
    page.heading("Goals (pooled point estimates)")
    page.table(["goal", "value", "interval", "target", "beats (rules, Freeman)", "per window", "met"],
               [[g["what"], g["value"] if not isinstance(g["value"], float) else f"{g['value']:.4f}", g.get("ci") or "",
                 g["goal"], g.get("beats", ""), g.get("windows", ""), g["met"]] for g in doc["goals"]], flag_col=6)
    for name, m in _blocks(doc):
        page.heading(f"Metrics, {name}")
        page.table(["scorer", *METRICS], [[n, *[cell(m.get(n, {}).get(ALL, {}).get(k)) for k in METRICS]]
                                          for n in SCORERS if n in m])
    page.heading("By attack type, pooled: recall at 1 % step-up and PR-AUC")
    pm = doc["pooled"]["metrics"]
    page.table(["attack type", *[f"{n} r@1%" for n in SCORERS], *[f"{n} PR-AUC" for n in SCORERS]],
               [[t, *[cell(pm.get(n, {}).get(t, {}).get("recall_at_1pct_stepup")) for n in SCORERS],
                 *[cell(pm.get(n, {}).get(t, {}).get("pr_auc")) for n in SCORERS]] for t in types])
    page.heading("By attack type and window (model): recall at 1 % step-up, decision recall, campaigns stopped")
    page.table(["window", "attack type", "recall at 1 %", "decision recall", "campaigns stopped before money",
                "... by login decisions alone"],
               [[name, t, *[cell(m.get("model", {}).get(t, {}).get(k)) for k in
                            ("recall_at_1pct_stepup", "decision_recall", CAMPAIGN_METRIC, LOGIN_CAMPAIGN_METRIC)]]
                for name, m in _blocks(doc) for t in types])
    _plot(page, doc)


def _plot(page: Page, doc: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = _blocks(doc)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, metric in zip(axes, ("recall_at_1pct_stepup", "decision_recall"), strict=True):
        for k, n in enumerate(SCORERS):
            xs, ys, lo, hi = [], [], [], []
            for i, (_, m) in enumerate(blocks):
                c = m.get(n, {}).get(ALL, {}).get(metric)
                if c and c["value"] is not None and c["ci"]:
                    xs.append(i + (k - 1.5) * 0.12)
                    ys.append(c["value"])
                    lo.append(c["value"] - c["ci"][0])
                    hi.append(c["ci"][1] - c["value"])
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", capsize=3, label=n)
        ax.set_xticks(range(len(blocks)), [name for name, _ in blocks], fontsize=8)
        ax.set(ylim=(0, 1.02), ylabel=metric.replace("_", " "), title=f"{metric.replace('_', ' ')} with 95 % intervals")
        ax.legend(fontsize=8)
    page.figure(fig)


def write_evaluation_report(doc: dict[str, Any], path: Path) -> Path:
    """The evaluation as its own HTML page."""
    page = Page("ato-risk model evaluation")
    evaluation_section(page, doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page.render())
    return path
