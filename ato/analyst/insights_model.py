"""The insights report's answers that need the champion model (modelling, model selection,
business insight): each from a saved query and the named functions of `ato.analyst.models` and
`ato.analyst.stats`; no number is typed into the text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ato.analyst import models, stats

if TYPE_CHECKING:
    from ato.analyst.insights import Report

AB_EFFECT = -0.3  # the stricter step-up policy's hoped-for change in takeovers let through (relative)
ACTION_WORDS = {"allow": "let through", "step_up_mfa": "asked for a second factor (step-up MFA)",
                "manual_review": "held for an analyst's review", "temporary_lock": "temporarily locked"}


@dataclass
class ModelContext:
    champion: models.Champion | None
    comparison: models.Comparison | None

    @classmethod
    def load(cls, r: Report, legit_sample: int) -> ModelContext:
        champ = models.champion(r.settings)
        return cls(champ, models.compare_models(r.settings, champ, legit_sample) if champ else None)

    def need(self, r: Report) -> bool:
        if self.champion is None:
            r.page.text("Not answered: no champion model is promoted yet (`ato train --promote`).")
        return self.champion is not None


def mm1(r: Report, ctx: ModelContext) -> None:
    r.table_of("static_attributes")
    if not ctx.need(r) or ctx.champion is None:
        return
    imp = models.importance_by_group(ctx.champion.scorer)
    behaviour = r.note("mm1_behavioural_gain_share", imp.loc[imp["behavioural"], "gain_share"].sum())
    r.page.text(f"In the champion ({ctx.champion.version}), behavioural feature groups carry {behaviour:.0%} of the "
                f"total gain, static attributes {1 - behaviour:.0%} (named function importance_by_group).")
    fig, ax = r.fig(7, 3)
    ax.barh(imp["group"][::-1], imp["gain_share"][::-1], color=np.where(imp["behavioural"][::-1], "#4c72b0", "#dd8452"))
    ax.set(title="Share of the model's gain by feature group (orange: static)", xlabel="share of total gain")
    r.page.figure(fig)
    r.frame(imp.drop(columns="gain"))


def mm2(r: Report, ctx: ModelContext) -> None:
    r.table_of("weekly_traffic")
    if not ctx.need(r) or ctx.champion is None:
        return
    last = max(r.day_to, ctx.champion.window["test"][1])
    w = models.weekly_effectiveness(r.settings, ctx.champion, last)
    test = w[w["part"] == "test"]
    r.note("mm2_test_weeks_min_pr_auc", test["pr_auc"].min())
    r.page.text(f"The champion scored week by week from its first training day (named function weekly_effectiveness; "
                f"labels as training uses them): PR-AUC {test['pr_auc'].min():.3f}-{test['pr_auc'].max():.3f} on its "
                f"test weeks; weeks after its test window are new data it never saw.")
    fig, ax = r.fig()
    for col, mark in (("pr_auc", "o-"), ("recall_at_1pct", "s--")):
        ax.plot(w["week"].astype(str), w[col], mark, label=col)
    ax.set(title="Champion by ISO week (train, validation, test, after)", ylim=(0, 1.05))
    ax.legend()
    r.page.figure(fig)
    r.frame(w)


def mm3(r: Report, ctx: ModelContext) -> None:
    df = r.query("flag_rates")
    if df is not None and len(df):
        flagged = df[df["action"] != "allow"]["decisions"].sum() / df["decisions"].sum()
        r.note("mm3_live_flag_rate", flagged)
        r.page.text(f"The API flagged {flagged:.2%} of {int(df['decisions'].sum()):,} live decisions in the period "
                    "(step-up, review or lock).")
        r.frame(df)
    if ctx.comparison is not None:
        t = ctx.comparison.test
        shares = pd.crosstab(t["model_action"], t["label"].map({0: "legit", 1: "takeover"}), normalize="columns")
        r.page.text("On the champion's test days, the share of each class it would flag, by action:")
        fig, ax = r.fig()
        shares.T.plot.barh(stacked=True, ax=ax)
        ax.set(title="Champion's actions on its test days", xlabel="share of logins")
        r.page.figure(fig)
        r.frame(shares.reset_index())


def ms1(r: Report, ctx: ModelContext) -> None:
    if not ctx.need(r) or ctx.champion is None or ctx.comparison is None:
        return
    t0, t1 = ctx.champion.window["test"]
    r.query("test_days", day_from=t0.isoformat(), day_to=t1.isoformat())
    tab = ctx.comparison.table
    best = tab.sort_values("pr_auc", ascending=False).iloc[0]
    r.note("ms1_champion_pr_auc", tab.loc[tab["model"].str.startswith("LightGBM"), "pr_auc"].iloc[0])
    r.page.text(f"Five models on the same {len(ctx.comparison.test):,} labelled logins of {t0} to {t1} (named function "
                f"compare_models; logistic regression and random forest fit on {ctx.comparison.train_rows:,} training "
                f"rows): {best['model']} ranks best on PR-AUC ({best['pr_auc']:.3f}). Recall and F1 at 1 % of "
                "legitimate logins flagged.")
    fig, ax = r.fig(7, 3)
    tab.set_index("model")[["pr_auc", "recall_at_1pct", "roc_auc"]].plot.barh(ax=ax)
    ax.set(title="Models on the champion's test days", xlim=(0, 1))
    r.page.figure(fig)
    r.frame(tab.drop(columns="interpretability"))


def ms2(r: Report, ctx: ModelContext) -> None:
    df = r.query("decisions_to_explain", top="1")
    if df is not None and len(df):
        d = df.iloc[0]
        label = {1: "later confirmed as a takeover", 0: "later confirmed legitimate"}.get(
            d["later_label"] if pd.notna(d["later_label"]) else -1, "not (yet) reported either way")
        reasons = str(d["reasons"]) or "nothing unusual"
        r.page.text(f"In plain words: on {pd.Timestamp(d['decided_at']):%d %B %Y at %H:%M} UTC, a sign-in to account "
                    f"{d['account_id']} was {ACTION_WORDS.get(d['action'], d['action'])}. The model put the chance "
                    f"that someone other than the owner was signing in at {d['risk_score']:.0%}, because: {reasons}. "
                    f"It was {label}.")
        r.note("ms2_risk_score", d["risk_score"])
        r.frame(df)
    elif ctx.comparison is not None and ctx.champion is not None:
        t = ctx.comparison.test
        row = t.loc[[t["LightGBM (champion)"].idxmax()]]
        why = "; ".join(ctx.champion.scorer.reasons(row)[0])
        r.page.text(f"No live decision in the period; the champion's riskiest test login instead: it would be "
                    f"{ACTION_WORDS.get(row['model_action'].iloc[0], '')} because: {why}.")


def ms3(r: Report, ctx: ModelContext) -> None:
    if ctx.comparison is not None:
        tab = ctx.comparison.table[["model", "pr_auc", "recall_at_1pct", "interpretability"]]
        r.page.text("What each model gives up: ranking quality against how directly a person can read its decision "
                    "(named function compare_models; the trade-off text is ato.analyst.models.INTERPRETABILITY).")
        r.frame(tab)
        fig, ax = r.fig(6, 3)
        ax.scatter(tab["pr_auc"], range(len(tab)))
        ax.set(yticks=range(len(tab)), yticklabels=tab["model"], xlabel="PR-AUC (test days)",
               title="Ranking quality; models listed from least to most readable")
        r.page.figure(fig)
    df = r.query("reason_precision")
    if df is not None and len(df):
        r.page.text("Once labels are in, how often the first reason shown was a takeover:")
        r.frame(df)


def bi1(r: Report, ctx: ModelContext) -> None:
    r.table_of("candidate_rules")
    if not ctx.need(r) or ctx.champion is None or ctx.comparison is None:
        return
    mined = models.mine_rules(ctx.comparison.train, ctx.comparison.test, models.strongest_numeric(ctx.champion.scorer, 12))
    r.page.text("Rules mined from the champion's strongest features (named function mine_rules: the threshold that "
                "flags at most 1 % of legitimate training logins), measured on its test days:")
    r.frame(mined)
    t = ctx.comparison.test
    through = ((t["label"] == 1) & (t["model_action"] == "allow")).sum() / len(t)
    daily = len(t) / t["login_date"].nunique()
    if through > 0:
        n = stats.ab_sample_size(float(through), AB_EFFECT)
        days = stats.ab_duration_days(n, daily)
        r.note("bi1_ab_per_arm", n)
        r.note("bi1_ab_days", days)
        r.page.text(f"A/B test of a stricter step-up policy: randomise by account, half the traffic on the stricter "
                    f"thresholds. Today {through:.4%} of logins are takeovers the model lets through; to detect a "
                    f"{-AB_EFFECT:.0%} relative drop (alpha 0.05 two-sided, power 0.8) needs {n:,} logins per arm, "
                    f"{days} days at our {daily:,.0f} logins a day (named functions ab_sample_size, ab_duration_days). "
                    "Guardrail metrics: legitimate step-up rate, step-up pass rate, support contacts."
                    + (" At this traffic a test on takeover logins alone cannot finish in a quarter: measure a more "
                       "frequent outcome (attack campaigns stopped per account-week, or the step-up pass rate of "
                       "logins later labelled) or pool the test across regions." if days > 90 else ""))


def bi2(r: Report, ctx: ModelContext) -> None:
    df = r.query("high_risk_hours")
    if df is None or df.empty:
        return
    grid = df.pivot(index="login_weekday", columns="login_hour", values="takeover_rate").reindex(
        index=range(1, 8), columns=range(24))
    peak = df.sort_values(["takeover_rate", "takeovers"], ascending=False).iloc[0]
    r.note("bi2_peak_rate", peak["takeover_rate"])
    r.note("bi2_peak_weekday", peak["login_weekday"])
    r.note("bi2_peak_hour", peak["login_hour"])
    r.page.text(f"Highest confirmed takeover rate: weekday {int(peak['login_weekday'])} (1 = Monday) at "
                f"{int(peak['login_hour']):02d}:00 UTC, {peak['takeover_rate']:.2%} of {int(peak['logins']):,} logins.")
    fig, ax = r.fig(8, 3)
    im = ax.imshow(grid.to_numpy(float), aspect="auto", cmap="Reds")
    ax.set(yticks=range(7), yticklabels=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], xlabel="hour (UTC)",
           title="Confirmed takeover rate by weekday and hour")
    fig.colorbar(im, ax=ax)
    r.page.figure(fig)


def bi3(r: Report, ctx: ModelContext) -> None:
    r.table_of("daily_value")
    if ctx.comparison is None:
        return
    costs = models.daily_costs(r.settings, ctx.comparison.test)
    saving = stats.bootstrap_mean_diff(costs["rules_cost"].to_numpy(float), costs["model_cost"].to_numpy(float))
    run = r.settings.costs.model_running_per_day
    roi = [(v - run) / run for v in (saving.value, saving.low, saving.high)] if run > 0 else [float("nan")] * 3
    r.note("bi3_daily_saving", saving.value)
    r.note("bi3_roi", roi[0])
    r.page.text(f"On the champion's test days the model's actions cost {costs['model_cost'].mean():,.0f} a day and the "
                f"rules' {costs['rules_cost'].mean():,.0f} (conf costs: missed takeover, friction, locks, reviews): "
                f"the model saves {saving.value:,.0f} a day (95 % bootstrap interval over days {saving.low:,.0f} to "
                f"{saving.high:,.0f}). Against its running cost of {run:,.0f} a day (costs.model_running_per_day) "
                f"that is a return of {roi[0]:.1f}x ({roi[1]:.1f}x to {roi[2]:.1f}x).")
    fig, ax = r.fig()
    ax.plot(costs["day"].astype(str), costs["rules_cost"], "o-", label="rules")
    ax.plot(costs["day"].astype(str), costs["model_cost"], "s-", label="model")
    ax.set(title="Cost of the actions per test day", ylabel="cost (conf units)")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    r.page.figure(fig)


MODEL_SECTIONS: tuple[tuple[str, Any], ...] = (
    ("MM1", mm1), ("MM2", mm2), ("MM3", mm3), ("MS1", ms1), ("MS2", ms2), ("MS3", ms3),
    ("BI1", bi1), ("BI2", bi2), ("BI3", bi3))
