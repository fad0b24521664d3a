"""The nightly report for as-of date D: gate verdicts, monitoring (business metrics over time,
estimated vs realised recall, per model version and fallback level), input volume and quarantine per day,
snapshot feature distributions, the training set's labels and its strongest stuffing signal, the
night's fraud rings (`ato.report.rings`), and a link to the day's per-feature drift page
(Evidently, `ato.report.evidently_pages`, drawn by the monitor step).
Reads the lake through DuckDB (no JVM); written to `<paths.reports>/nightly-<D>.html`.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from ato.report.drift import drift_section
from ato.report.html import Page
from ato.report.monitoring import monitoring_section, shadow_section
from ato.report.rings import rings_section
from ato.settings import Settings


def _plt() -> object:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _drift_pages(settings: Settings, page: Page, as_of: date) -> None:
    """The day's Evidently page, linked: the monitor step's, drawn here only when it is missing."""
    from ato.report.evidently_pages import SAMPLE, page_path, try_drift_page

    path = page_path(settings, as_of)
    if not path.is_file():
        drawn, error = try_drift_page(settings, as_of)
        if error:
            page.text(f"per-feature drift page: failed ({error}; see the log)")
        if drawn is None:
            return
        path = drawn
    page.link(f"per-feature drift page of {as_of} (Evidently, up to {SAMPLE:,} level-0 decisions of the model "
              "that served the day against its reference)", path.name)


def build_nightly_report(settings: Settings, as_of: date) -> Path:
    """Write the HTML report for `as_of` and return its path."""
    from ato.analyst import connect

    plt = _plt()
    con = connect(settings.paths.lake_root, raw=True)  # quarantine counts per day, no identifiers shown
    views = {r[0] for r in con.sql("SELECT view_name FROM duckdb_views()").fetchall()} | \
        {r[0] for r in con.sql("SHOW TABLES").fetchall()}
    d, lo = as_of.isoformat(), (as_of - timedelta(days=29)).isoformat()
    page = Page(f"ato nightly report, as of {d}")

    page.heading("Quality gates")
    if "gold_nightly_checks" in views:
        rows = con.sql(f"""SELECT run, gate, name, passed, observed, bounds FROM gold_nightly_checks
            WHERE run LIKE '%{d}%' QUALIFY logged_at = max(logged_at) OVER (PARTITION BY run)
            ORDER BY passed, gate, name""").fetchall()
        page.table(["run", "gate", "check", "passed", "observed", "bounds"], rows, flag_col=3)
    else:
        page.text("no gate has run yet")

    monitoring_section(page, con, plt, views, as_of)
    shadow_section(page, con, plt, views, as_of)
    drift_section(page, con, plt, views, as_of, settings.monitor.psi_threshold, settings.monitor.min_decisions)
    _drift_pages(settings, page, as_of)
    rings_section(page, con, plt, views, as_of)

    page.heading("Input: logins per day and quarantined share (last 30 days)")
    vol = con.sql(f"""SELECT event_date, count(*) FROM silver_logins WHERE event_date BETWEEN DATE '{lo}' AND DATE '{d}'
        GROUP BY 1 ORDER BY 1""").fetchall()
    quar = dict(con.sql(f"""SELECT event_date, count(*) FROM bronze_quarantine WHERE stream = 'logins'
        AND event_date BETWEEN DATE '{lo}' AND DATE '{d}' GROUP BY 1""").fetchall()) if "bronze_quarantine" in views else {}
    fig, ax = plt.subplots(1, 2, figsize=(12, 3))  # type: ignore[attr-defined]
    ax[0].bar([r[0] for r in vol], [r[1] for r in vol], color="#4a7ab5")
    ax[0].set_title("silver logins per day")
    ax[1].bar([r[0] for r in vol], [quar.get(r[0], 0) / max(1, r[1] + quar.get(r[0], 0)) for r in vol], color="#c0504d")
    ax[1].axhline(settings.gates.max_quarantine_share, ls="--", color="k", lw=1)
    ax[1].set_title("share of logins quarantined (dashed: gate)")
    for a in ax:
        a.tick_params(axis="x", rotation=60, labelsize=7)
    page.figure(fig)

    page.heading(f"Account snapshot as of {d}: feature distributions")
    snap = con.sql(f"""SELECT logins_30d, failed_login_rate_30d, distinct_devices_30d, distinct_ips_30d
        FROM gold_account_features_daily WHERE as_of_date = DATE '{d}'""").df()
    fig, ax = plt.subplots(1, 4, figsize=(14, 3))  # type: ignore[attr-defined]
    for a, col in zip(ax, snap.columns, strict=True):
        a.hist(snap[col].dropna(), bins=40, color="#4a7ab5", log=True)
        a.set_title(col, fontsize=9)
    page.figure(fig)
    page.text(f"{len(snap):,} accounts in the snapshot")

    if "gold_training_set" in views:
        page.heading("Training set: rows and takeover labels by login date")
        ts = con.sql("""SELECT login_date, count(*) AS n, sum(label) AS ato FROM gold_training_set
            GROUP BY 1 ORDER BY 1""").fetchall()
        fig, ax = plt.subplots(figsize=(12, 3))  # type: ignore[attr-defined]
        ax.bar([r[0] for r in ts], [r[1] for r in ts], color="#9bbb59", label="logins")
        ax2 = ax.twinx()
        ax2.plot([r[0] for r in ts], [r[2] for r in ts], "o-", color="#c0504d", label="ato labels")
        ax.set_title("training rows (bars) and ato labels (line)")
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        page.figure(fig)
        src = con.sql("""SELECT label_source, label, count(*) AS n, round(avg(label_weight), 2) AS weight
            FROM gold_training_set GROUP BY ALL ORDER BY n DESC""").fetchall()
        page.table(["label source", "label", "rows", "weight"], src)
        sig = con.sql("""SELECT label, ip_accounts_24h FROM gold_training_set WHERE ip_accounts_24h IS NOT NULL""").df()
        fig, ax = plt.subplots(figsize=(7, 3))  # type: ignore[attr-defined]
        for lab, color in ((0, "#4a7ab5"), (1, "#c0504d")):
            v = sig.loc[sig["label"] == lab, "ip_accounts_24h"]
            if len(v):
                ax.hist(v.clip(upper=200), bins=50, alpha=0.6, density=True, log=True, color=color,
                        label=f"label {lab} ({len(v):,})")
        ax.set_title("distinct accounts on the login's IP in the previous 24 h")
        ax.legend()
        page.figure(fig)

    out = Path(settings.paths.reports) / f"nightly-{d}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page.render())
    return out
