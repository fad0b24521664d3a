"""Per-feature drift pages drawn by Evidently, on a sample: the champion's decisions of one day
against the reference stored with it (`reference.json`). The numbers that trigger anything are
ours (`gold/drift_daily`, computed in Spark over every decision); these pages are for a person who
wants to look at each feature's two distributions. Written by the nightly `report` step to
`<paths.reports>/drift-<D>.html` and linked from the nightly report.

The reference keeps each feature's own sample (numeric: 2,000 values; categorical: the shares of
its top categories), so the reference frame is drawn column by column: enough for one feature's
distribution at a time, not for pairs of features.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ato import deltars
from ato.features.columns import CATEGORICAL_FEATURES
from ato.model.registry import champion, registry_dir
from ato.monitoring.drift import SCORE, load_reference
from ato.settings import Settings
from ato.tables import DECISIONS

SAMPLE = 5000
OTHER = "(other)"


def reference_frame(ref: dict[str, Any], n: int, seed: int = 7) -> pd.DataFrame:
    """`n` rows drawn per column from the reference: numeric from its sample, categorical from its shares."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for name, e in ref["features"].items():
        if e["kind"] == "categorical":
            shares = np.asarray(e["shares"], dtype=float)  # [missing, categories..., other]
            labels = np.array([None, *e["categories"], OTHER], dtype=object)
            cols[name] = rng.choice(labels, n, p=shares / shares.sum()) if shares.sum() else np.full(n, None)
        else:
            sample = np.asarray(e.get("sample", []), dtype=float)
            values = rng.choice(sample, n) if len(sample) else np.full(n, np.nan)
            values[rng.random(n) < e["shares"][0]] = np.nan  # bin 0: missing (the sample holds values only)
            cols[name] = values
    return pd.DataFrame(cols)


def current_frame(settings: Settings, day: date, version: str, categories: dict[str, list[str]],
                  n: int = SAMPLE, seed: int = 7) -> pd.DataFrame:
    """Up to `n` of the day's level-0 decisions by `version`: their audited vectors and scores."""
    where = ((pc.field("decided_date") == pc.scalar(day)) & (pc.field("model_version") == version)
             & (pc.field("fallback_level") == 0))
    t = deltars.read(settings, "gold", DECISIONS, ["features_json", "risk_score"], where).to_pandas()
    t = t[t["features_json"].notna()]
    if len(t) > n:
        t = t.sample(n, random_state=seed)
    df = pd.DataFrame([json.loads(x) for x in t["features_json"]], index=t.index)
    df[SCORE] = t["risk_score"].astype(float)
    for name, cats in categories.items():  # the reference's top categories, the rest as one
        if name in df:
            df[name] = df[name].where(df[name].isna() | df[name].astype(str).isin(cats), OTHER)
    return df.reset_index(drop=True)


def write_drift_page(settings: Settings, day: date) -> Path | None:
    """The Evidently page of `day` for the champion, or None (no champion, reference or enough decisions)."""
    version = champion(settings)
    ref = load_reference(registry_dir(settings) / version) if version else None
    if ref is None or not deltars.exists(settings, "gold", DECISIONS):
        return None
    cats = {k: list(e["categories"]) for k, e in ref["features"].items() if e["kind"] == "categorical"}
    cur = current_frame(settings, day, version, cats)  # type: ignore[arg-type]
    if len(cur) < settings.monitor.min_decisions:
        return None
    reference = reference_frame(ref, SAMPLE)
    columns = [c for c in reference.columns if c in cur.columns]
    os.environ.setdefault("EVIDENTLY_DISABLE_TELEMETRY", "1")  # nothing leaves the machine
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    categorical = [c for c in columns if c in set(CATEGORICAL_FEATURES)]
    numerical = [c for c in columns if c not in set(categorical)]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)

    def dataset(df: pd.DataFrame) -> Any:
        frame = df[columns].copy()
        for c in categorical:
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None).astype("string")
        return Dataset.from_pandas(frame, data_definition=definition)

    # A feature constant on the day (every value far out, or all zero) has no correlation: numpy's
    # "invalid value encountered in divide" from Evidently's corrcoef, once per such feature, would
    # reach the nightly's task log; the page shows the drift either way.
    with np.errstate(divide="ignore", invalid="ignore"):
        snapshot = Report([DataDriftPreset()]).run(current_data=dataset(cur), reference_data=dataset(reference))
    path = Path(settings.paths.reports) / f"drift-{day.isoformat()}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(path))
    return path
