"""The nightly report's drift section: a PSI heat map of the model's features and score per day
(gold/drift_daily), the features that drifted last night, and the attack mix day over day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ato.report.html import Page, fmt

DAYS = 30
TOP = 25  # features in the heat map: the highest PSI over the window


def drift_section(page: Page, con: duckdb.DuckDBPyConnection, plt: Any, views: set[str], as_of: date,
                  psi_threshold: float, min_decisions: int) -> None:
    page.heading(f"Drift: serving inputs and scores against the model's reference (last {DAYS} days)")
    if "gold_drift_daily" not in views:
        page.text("no drift yet: the `monitor` step writes gold/drift_daily for nights with model decisions "
                  "and a model version that stored its reference")
        return
    lo = (as_of - timedelta(days=DAYS - 1)).isoformat()
    d = con.sql(f"""SELECT decided_date, model_version, kind, name, psi, ks, tvd, n, drifted FROM gold_drift_daily
        WHERE decided_date BETWEEN DATE '{lo}' AND DATE '{as_of}'""").df()
    feats = d[d["kind"] != "attack_mix"]
    # A version-day with too few decisions is left out: its PSI is noise, and never flagged.
    enough = feats[feats["n"] >= min_decisions]
    if feats.empty:
        page.text("no model decisions with a reference in the window")
    elif enough.empty:
        page.text(f"no version-day with {min_decisions:,} model decisions or more in the window "
                  "(`monitor.min_decisions`): PSI on fewer is noise and is not shown")
    else:
        wide = enough.pivot_table(index="name", columns="decided_date", values="psi", aggfunc="max")
        wide = wide.loc[wide.max(axis=1).sort_values(ascending=False).index[:TOP]]
        fig, ax = plt.subplots(figsize=(min(16, 3 + 0.45 * wide.shape[1]), 0.32 * len(wide) + 1.5))
        im = ax.imshow(np.clip(wide.to_numpy(float), 0, 2 * psi_threshold), aspect="auto", cmap="Reds",
                       vmin=0, vmax=2 * psi_threshold)
        ax.set_yticks(range(len(wide)), wide.index, fontsize=7)
        ax.set_xticks(range(wide.shape[1]), [str(pd.Timestamp(c).date()) for c in wide.columns], rotation=60,
                      fontsize=7)
        ax.set_title(f"PSI per feature and day (top {len(wide)}; red at {2 * psi_threshold:g}+, threshold "
                     f"{psi_threshold:g})", fontsize=9)
        fig.colorbar(im, ax=ax)
        page.figure(fig)
        day = feats["decided_date"].max()
        last = feats[(feats["decided_date"] == day) & feats["drifted"]]
        page.text(f"drifted on {pd.Timestamp(day).date()}: {len(last)} of "
                  f"{feats.loc[feats['decided_date'] == day, 'name'].nunique()}")
        rows = last.sort_values("psi", ascending=False)[["model_version", "name", "psi", "ks", "n"]]
        page.table(["model", "feature", "PSI", "KS", "decisions"], [[fmt(v) for v in r] for r in rows.itertuples(index=False)])
    mix = d[d["kind"] == "attack_mix"].sort_values("decided_date")
    if not mix.empty:
        page.text("attack mix among challenged logins, against the day before (reason codes, guardrails)")
        page.table(["day", "mix", "PSI", "total variation", "challenged", "shifted"],
                   [[fmt(v) for v in r] for r in mix[["decided_date", "name", "psi", "tvd", "n", "drifted"]]
                    .tail(14).itertuples(index=False)])
