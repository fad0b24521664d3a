"""Per-feature drift pages drawn by Evidently, on a sample: the decisions of one day by the model
that served them against the reference stored with it (`reference.json`). The numbers that trigger
anything are ours (`gold/drift_daily`, computed in Spark over every decision); these pages are for
a person who wants to look at each feature's two distributions. Written by the nightly `monitor`
step to `<paths.reports>/drift-<D>.html` (beside the batch steps, off the nightly's critical
path) and linked from the nightly report, which draws the page itself only when it is missing.

The served model is the version with the most level-0 decisions that day, not the registry's
champion when the page is drawn: a night whose drift triggers a retrain promotes another champion,
which made none of that day's decisions.

The reference keeps each feature's own sample (numeric: 2,000 values; categorical: the shares of
its top categories), so the reference frame is drawn column by column: enough for one feature's
distribution at a time, not for pairs of features.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ato import deltars
from ato.features.columns import CATEGORICAL_FEATURES
from ato.model.registry import registry_dir
from ato.monitoring.drift import SCORE, has_reference, load_reference
from ato.settings import Settings
from ato.tables import DECISIONS

SAMPLE = 5000
OTHER = "(other)"
log = logging.getLogger("ato.report")


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


def page_path(settings: Settings, day: date) -> Path:
    return Path(settings.paths.reports) / f"drift-{day.isoformat()}.html"


def served_version(settings: Settings, day: date) -> str | None:
    """The version with the most level-0 decisions on `day` among those with a stored reference
    (ties: the later version), or None."""
    if not deltars.exists(settings, "gold", DECISIONS):
        return None
    where = (pc.field("decided_date") == pc.scalar(day)) & (pc.field("fallback_level") == 0)
    counts = deltars.read(settings, "gold", DECISIONS, ["model_version"], where).to_pandas()["model_version"] \
        .dropna().value_counts()
    for version, _ in sorted(sorted(counts.items(), reverse=True), key=lambda kv: -kv[1]):
        if has_reference(registry_dir(settings) / version):  # drawing the page loads it
            return str(version)
    return None


def write_drift_page(settings: Settings, day: date, version: str | None = None) -> Path | None:
    """The Evidently page of `day` for `version` (default: the model that served the day), or None
    (no such model, reference or enough decisions)."""
    version = version or served_version(settings, day)
    ref = load_reference(registry_dir(settings) / version) if version else None
    if ref is None or not deltars.exists(settings, "gold", DECISIONS):
        return None
    cats = {k: list(e["categories"]) for k, e in ref["features"].items() if e["kind"] == "categorical"}
    cur = current_frame(settings, day, version, cats)  # type: ignore[arg-type]
    if len(cur) < settings.monitor.min_decisions:
        return None
    snapshot = drift_snapshot(cur, reference_frame(ref, SAMPLE), drift_preset())
    path = page_path(settings, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(path))
    return path


def drift_snapshot(cur: pd.DataFrame, reference: pd.DataFrame, preset: Any) -> Any:
    """Evidently's run of `preset` on the day's frame against the reference (their shared columns)."""
    columns = [c for c in reference.columns if c in cur.columns]
    os.environ.setdefault("EVIDENTLY_DISABLE_TELEMETRY", "1")  # nothing leaves the machine
    from evidently import DataDefinition, Dataset, Report

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
        return Report([preset]).run(current_data=dataset(cur), reference_data=dataset(reference))


def drift_preset() -> Any:
    """Evidently's `DataDriftPreset` without its per-column `ValueDrift` metrics. The preset computes
    and draws one of those per column, then renders its page from its legacy drift table alone,
    which tests and draws every column again. Dropping them left the page the same on evidently
    0.7.23 (byte for byte once its random element ids are masked) and cut drawing it on the DAG
    test's day from 17.5 s to 10.2 s."""
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    class DriftPage(DataDriftPreset):
        def generate_metrics(self, context: Any) -> Any:
            return [m for m in super().generate_metrics(context) if not isinstance(m, ValueDrift)]

    return DriftPage()


def try_drift_page(settings: Settings, day: date) -> tuple[Path | None, str | None]:
    """`write_drift_page` and the name of its failure, logged rather than raised: the page is a
    picture, the numbers are gold/drift_daily's, so it never stops the monitor or the report."""
    try:
        return write_drift_page(settings, day), None
    except Exception as exc:
        log.error("Evidently drift page of %s failed: %s: %s", day, type(exc).__name__, exc)
        return None, type(exc).__name__
