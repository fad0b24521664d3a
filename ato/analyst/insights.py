"""`ato insights --from D1 --to D2`: one HTML page answering the fifteen analyst questions of the
seed (data manipulation, feature engineering, modelling, model selection, business insight) on
this lake, each with the saved query or the named function behind it and a plot or table.

Every number on the page comes from a saved query's rows (`queries/`, run on DuckDB) or from a
named function (`ato.analyst.stats`, `ato.analyst.models`); `Insights.numbers` holds the headline
ones for tests and scripts. The data answers are here; the model answers in `insights_model`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ato.analyst import catalog, stats
from ato.report.html import Page
from ato.settings import Settings


@dataclass
class Report:
    """What the sections share: the page, the lake's DuckDB connection, the period, the numbers."""

    settings: Settings
    con: Any
    missing: dict[str, list[str]]
    day_from: date
    day_to: date
    plt: Any
    page: Page
    numbers: dict[str, float] = field(default_factory=dict)

    def period(self) -> dict[str, str]:
        return {"day_from": self.day_from.isoformat(), "day_to": self.day_to.isoformat()}

    def query(self, name: str, **given: str) -> pd.DataFrame | None:
        """A saved query's rows (its SQL folded under the answer), or None with a note when the
        lake lacks a table it reads."""
        q = catalog.find(name)
        params = {k: v for k, v in {**self.period(), **given}.items() if k in {p.name for p in q.params}}
        self.page.code(f"query {q.name} ({q.path.name}) {' '.join(f'{k}={v}' for k, v in params.items())}",
                       q.render("duckdb", params))
        try:
            df = catalog.run_duckdb(self.con, q, params, self.missing)
        except ValueError as e:
            self.page.text(f"Not answered on this lake: {e}.")
            return None
        if df.empty:
            self.page.text(f"{q.name}: no rows for these parameters (e.g. no decisions were logged in the period).")
        return df

    def frame(self, df: pd.DataFrame, rows: int = 12) -> None:
        def cell(v: Any) -> str:
            if isinstance(v, float | np.floating):
                return "–" if v != v else f"{v:.4g}"
            return str(v)

        self.page.table(list(df.columns), [[cell(v) for v in r] for r in df.head(rows).itertuples(index=False)])

    def table_of(self, name: str, **given: str) -> pd.DataFrame | None:
        """A saved query's rows shown as a table."""
        df = self.query(name, **given)
        if df is not None and len(df):
            self.frame(df)
        return df

    def note(self, key: str, value: float) -> float:
        self.numbers[key] = float(value)
        return float(value)

    def fig(self, *size: float) -> tuple[Any, Any]:
        return self.plt.subplots(figsize=size or (7, 3))


def _rate_bars(r: Report, labels: list[str], k: np.ndarray, n: np.ndarray, title: str, xlabel: str) -> None:
    """Rates k/n as bars with Wilson 95 % intervals."""
    ci = [stats.proportion_ci(int(a), int(b)) for a, b in zip(k, n, strict=True)]
    rate = np.array([c.value for c in ci])
    err = np.array([[c.value - c.low for c in ci], [c.high - c.value for c in ci]])
    fig, ax = r.fig()
    ax.bar(labels, rate, yerr=err, capsize=3, color="#4c72b0")
    ax.set(title=title, xlabel=xlabel, ylabel="rate (95 % Wilson interval)")
    r.page.figure(fig)


def dm1(r: Report) -> None:
    df = r.query("failed_payments_vs_suspicious", as_of=r.day_to.isoformat())
    if df is None or df.empty:
        return
    some, none = df[df["failed_payments_30d"] > 0], df[df["failed_payments_30d"] == 0]
    lift = stats.lift(int(some["suspicious_accounts"].sum()), int(some["accounts"].sum()),
                      int(none["suspicious_accounts"].sum()), int(none["accounts"].sum()))
    x = np.repeat(df["failed_payments_30d"].to_numpy(float), df["accounts"].to_numpy(int))
    y = np.concatenate([np.r_[np.ones(int(s)), np.zeros(int(a - s))]
                        for s, a in zip(df["suspicious_accounts"], df["accounts"], strict=True)])
    corr = stats.correlation(x, y)
    r.note("dm1_lift", lift.value)
    r.note("dm1_rate_with_failed", lift.rate_a)
    r.note("dm1_rate_without_failed", lift.rate_b)
    r.note("dm1_correlation", corr.value)
    r.page.text(f"Accounts with at least one failed payment in the 30 days were suspicious {lift.rate_a:.2%} of "
                f"the time ({lift.n_a:,} accounts), those without {lift.rate_b:.2%} ({lift.n_b:,}): a lift of "
                f"{lift.value:.2f}x (95 % interval {lift.low:.2f}-{lift.high:.2f}). Failed payments and the flag "
                f"correlate at r = {corr.value:.3f} ({corr.low:.3f} to {corr.high:.3f}, n = {corr.n:,}).")
    top = df[df["failed_payments_30d"] <= 8]
    _rate_bars(r, [str(v) for v in top["failed_payments_30d"]], top["suspicious_accounts"].to_numpy(),
               top["accounts"].to_numpy(), "Suspicious accounts by failed payments (30 days)", "failed payments")
    r.frame(df)


def dm2(r: Report) -> None:
    df = r.query("login_anomalies", top=str(10**9))
    if df is None or df.empty:
        return
    z = np.fmax(df["z_logins"].abs().fillna(0), df["z_session"].abs().fillna(0))
    out = z > 3.5
    taken = df["takeover_logins"].fillna(0).to_numpy() > 0
    r.note("dm2_outliers", int(out.sum()))
    share_out = taken[out].mean() if out.any() else float("nan")
    r.page.text(f"{int(out.sum()):,} of {len(df):,} accounts have a robust z-score above 3.5 on login count or mean "
                f"session duration; {share_out:.1%} of them had a labelled takeover, against "
                f"{taken[~out].mean():.1%} of the others. The largest outliers:")
    fig, ax = r.fig(7, 3.5)
    ax.scatter(df["logins"], df["mean_session_s"], s=4, c=np.where(out, "#c44e52", "#4c72b0"), alpha=.6)
    ax.scatter(df["logins"][taken], df["mean_session_s"][taken], s=30, facecolors="none", edgecolors="k",
               label="account with a takeover")
    ax.set(xscale="log", xlabel="logins in the period", ylabel="mean session (s)",
           title="Accounts: red = robust |z| > 3.5")
    ax.legend(loc="upper right")
    r.page.figure(fig)
    r.frame(df, 10)


def dm3(r: Report) -> None:
    df = r.query("device_switchers")
    if df is None or df.empty:
        return
    zero, many = df[df["switches"] == "0"], df[df["switches"] == "5+"]
    if len(zero) and len(many):
        lift = stats.lift(int(many["taken_over_accounts"].iloc[0]), int(many["accounts"].iloc[0]),
                          int(zero["taken_over_accounts"].iloc[0]), int(zero["accounts"].iloc[0]))
        r.note("dm3_lift_5plus", lift.value)
        r.page.text(f"Accounts that switched device 5 times or more were taken over at {lift.rate_a:.2%}, accounts "
                    f"that never switched at {lift.rate_b:.2%}: {lift.value:.1f}x (95 % interval "
                    f"{lift.low:.1f}-{lift.high:.1f}).")
    _rate_bars(r, list(df["switches"]), df["taken_over_accounts"].to_numpy(), df["accounts"].to_numpy(),
               "Accounts with a confirmed takeover, by device switches", "device switches in the period")
    r.frame(df)


def _by_label(r: Report, name: str, key: str, column: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """A per-label saved query's rows, indexed by label, with `column` noted as `key`_<label>."""
    df = r.query(name)
    if df is None or df.empty:
        return None
    by = df.set_index("label")
    for lab in by.index:
        r.note(f"{key}_{lab}", by.loc[lab, column])
    return df, by


def fe1(r: Report) -> None:
    if (got := _by_label(r, "time_between_logins", "fe1_median_s", "p50_s")) is None:
        return
    df, by = got
    r.page.text("Median time since the account's previous login: " + ", ".join(
        f"{lab} {by.loc[lab, 'p50_s'] / 3600:.1f} h (10 % under {by.loc[lab, 'p10_s'] / 60:.0f} min)" for lab in by.index)
        + ".")
    fig, ax = r.fig()
    for i, lab in enumerate(by.index):
        ax.plot([by.loc[lab, c] for c in ("p10_s", "p50_s", "p90_s")], [i] * 3, "o-", label=lab)
    ax.set(xscale="log", yticks=range(len(by)), yticklabels=list(by.index), xlabel="seconds since previous login",
           title="10th, 50th and 90th percentile by label")
    r.page.figure(fig)
    r.frame(df)


def _grouped_bars(r: Report, df: pd.DataFrame, index: str, columns: str, value: str, title: str) -> None:
    wide = df.pivot(index=index, columns=columns, values=value).fillna(0)
    fig, ax = r.fig()
    wide.plot.bar(ax=ax, rot=0)
    ax.set(title=title, ylabel=value)
    r.page.figure(fig)


def fe2(r: Report) -> None:
    if (got := _by_label(r, "geo_dispersion", "fe2_share_new_country", "share_new_country")) is None:
        return
    df, by = got
    r.page.text("Share of logins from a country new to the account, and with impossible travel since the previous "
                "login: " + "; ".join(f"{lab} {by.loc[lab, 'share_new_country']:.1%} and "
                                      f"{by.loc[lab, 'share_impossible_travel']:.1%}" for lab in by.index) + ".")
    long = df.melt(id_vars="label", value_vars=["share_new_country", "share_impossible_travel"], var_name="signal")
    _grouped_bars(r, long, "signal", "label", "value", "Geographic signals by label")
    r.frame(df)


def fe3(r: Report) -> None:
    df = r.query("time_since_failed_payment")
    if df is None or df.empty:
        return
    recent = df[df["since_failed_payment"].isin(["1 under 1 day", "2 1-7 days"])].groupby("label")["share_of_label"].sum()
    for lab, v in recent.items():
        r.note(f"fe3_share_within_7d_{lab}", v)
    r.page.text("Logins within 7 days of a failed payment on the account: " + ", ".join(
        f"{lab} {v:.1%}" for lab, v in recent.items()) + ".")
    _grouped_bars(r, df, "since_failed_payment", "label", "share_of_label", "Time since the last failed payment")
    r.frame(df)


DATA_SECTIONS = (("DM1", dm1), ("DM2", dm2), ("DM3", dm3), ("FE1", fe1), ("FE2", fe2), ("FE3", fe3))


@dataclass(frozen=True)
class Insights:
    path: Path
    numbers: dict[str, float]
    answered: list[str]


def build(settings: Settings, day_from: date, day_to: date, out: Path, legit_sample: int = 60_000) -> Insights:
    """Write the report for logins in [day_from, day_to] to `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ato.analyst import connect, views
    from ato.analyst.insights_model import MODEL_SECTIONS, ModelContext
    from ato.analyst.lake import is_raw, list_tables

    root = settings.paths.lake_root
    missing = views.available({n for n in list_tables(root) if not is_raw(n)})[1]
    page = Page(f"Fraud insights, {day_from} to {day_to}")
    r = Report(settings, connect(root), missing, day_from, day_to, plt, page)
    page.text("Each answer names the saved query (queries/, `ato query run NAME`) or the named function behind "
              "it; open a query to see its SQL. Rates carry 95 % intervals where they are estimates.")
    questions = {q.question_id: q.question for q in catalog.load()}
    ctx = ModelContext.load(r, legit_sample)
    answered = []
    for qid, fn in (*DATA_SECTIONS, *((q, lambda rr, f=f: f(rr, ctx)) for q, f in MODEL_SECTIONS)):
        page.heading(questions[qid])
        before = len(page.parts)
        fn(r)
        if any("<img" in p or "<table" in p for p in page.parts[before:]):
            answered.append(qid)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page.render(), encoding="utf-8")
    return Insights(out, r.numbers, answered)
