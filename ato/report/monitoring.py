"""The nightly report's monitoring section: business metrics over time (gold/business_daily) and
the last days per model version and fallback level (gold/model_performance_daily).
Metric definitions: `ato.monitoring.metrics` and README "Monitoring"."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb

from ato.report.html import Page, fmt

DAYS = 90


def monitoring_section(page: Page, con: duckdb.DuckDBPyConnection, plt: Any, views: set[str], as_of: date) -> None:
    page.heading(f"Monitoring: decisions against the labels known on {as_of} (last {DAYS} days)")
    if "gold_business_daily" not in views:
        page.text("no monitoring yet: the `monitor` step writes gold/business_daily once gold/decisions has rows")
        return
    lo = (as_of - timedelta(days=DAYS - 1)).isoformat()
    b = con.sql(f"""SELECT * FROM gold_business_daily WHERE decided_date BETWEEN DATE '{lo}' AND DATE '{as_of}'
        ORDER BY decided_date""").df()
    if b.empty:
        page.text("no decisions in the window")
        return
    x = b["decided_date"]
    fig, ax = plt.subplots(2, 3, figsize=(15, 6))
    panels = [
        ("ato_rate_per_10k", "ATO rate (per 10,000 active accounts)", "#c0504d"),
        ("friction_index", "friction index (MFA-equivalents per 1,000 legit)", "#4a7ab5"),
        ("false_lock_rate", "false lockout rate", "#8064a2"),
    ]
    for a, (col, title, color) in zip(ax[0], panels, strict=True):
        a.plot(x, b[col], "o-", color=color, ms=3)
        a.set_title(title, fontsize=9)
    a = ax[1][0]
    a.plot(x, b["recall_challenged"], "o-", color="#c0504d", ms=3, label="realised (labels known)")
    a.plot(x, b["est_recall_challenged"], "s--", color="#4a7ab5", ms=3, label="estimated (calibrated scores)")
    a.set_title("recall of challenges (step-up, review, lock)", fontsize=9)
    a.legend(fontsize=7)
    a = ax[1][1]
    a.plot(x, b["label_maturity"], "o-", color="#9bbb59", ms=3)
    a.set_ylim(0, 1.05)
    a.set_title("label maturity (share of takeover labels expected known)", fontsize=9)
    a = ax[1][2]
    a.plot(x, b["net_benefit"], "o-", color="#4a7ab5", ms=3, label="model")
    a.plot(x, b["net_benefit"] - b["net_benefit_vs_rules"], "s--", color="#7f7f7f", ms=3, label="rules alone")
    a.set_title("losses prevented - friction cost", fontsize=9)
    a.legend(fontsize=7)
    for row in ax:
        for a in row:
            a.tick_params(axis="x", rotation=60, labelsize=7)
    fig.tight_layout()
    page.figure(fig)
    cols = ["decided_date", "decisions", "ato", "ato_rate_per_10k", "recall_challenged", "est_recall_challenged",
            "false_lock_rate", "friction_index", "takeovers_allowed", "net_benefit_vs_rules", "label_maturity"]
    page.table(cols, [[fmt(v) for v in r] for r in b[cols].tail(14).itertuples(index=False)])
    if "gold_model_performance_daily" in views:
        p = con.sql(f"""SELECT decided_date, model_version, fallback_level, decisions, share_step_up, share_lock,
            precision_challenged, recall_challenged, est_recall_challenged, false_lock_rate, step_up_pass_rate
            FROM gold_model_performance_daily WHERE decided_date > DATE '{as_of}' - INTERVAL 7 DAY
            ORDER BY ALL""").fetchall()
        page.text("last 7 days by model version and fallback level (0 model, 1 fallback model, 2 rules, 3 shed)")
        page.table(["day", "model", "level", "decisions", "step-up share", "lock share", "precision", "recall",
                    "est. recall", "false locks", "step-up passed"], [[fmt(v) for v in r] for r in p])


def shadow_section(page: Page, con: duckdb.DuckDBPyConnection, plt: Any, views: set[str], as_of: date) -> None:
    """Champion vs shadow challenger on the same decisions (gold/shadow_daily), day by day."""
    if "gold_shadow_daily" not in views:
        return
    lo = (as_of - timedelta(days=DAYS - 1)).isoformat()
    s = con.sql(f"""SELECT decided_date, model_version, shadow_version, side, decisions, ato, recall_challenged,
        precision_challenged, friction_index, false_lock_rate, net_benefit, label_maturity FROM gold_shadow_daily
        WHERE decided_date BETWEEN DATE '{lo}' AND DATE '{as_of}' ORDER BY ALL""").df()
    if s.empty:
        return
    page.heading("Champion vs shadow challenger (the same decisions; the champion's model action before the policy)")
    fig, ax = plt.subplots(1, 3, figsize=(15, 3.4))
    for (champ, shadow), g in s.groupby(["model_version", "shadow_version"]):
        for side, style in (("champion", "o-"), ("shadow", "s--")):
            d = g[g["side"] == side]
            label = f"{champ if side == 'champion' else shadow} ({side})"
            for a, col in zip(ax, ("recall_challenged", "friction_index", "net_benefit"), strict=True):
                a.plot(d["decided_date"], d[col], style, ms=3, label=label)
    for a, title in zip(ax, ("recall of challenges", "friction index", "losses prevented - friction cost"), strict=True):
        a.set_title(title, fontsize=9)
        a.tick_params(axis="x", rotation=60, labelsize=7)
    ax[0].legend(fontsize=7)
    fig.tight_layout()
    page.figure(fig)
    page.table(["day", "champion", "shadow", "side", "decisions", "takeovers", "recall", "precision", "friction",
                "false locks", "net benefit", "maturity"],
               [[fmt(v) for v in r] for r in s.tail(28).itertuples(index=False)])
