"""The per-feature drift page (Evidently) of a day: the audited vectors of the model that served
the day against the reference stored with it, drawn on a sample; none without enough decisions;
the report links the monitor step's page and draws one only when it is missing."""

from __future__ import annotations

import json
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ato import deltars
from ato.decisions import SCHEMA
from ato.features.columns import CATEGORICAL_FEATURES, FEATURES
from ato.monitoring.drift import SCORE, reference, write_reference
from ato.report import evidently_pages
from ato.report.evidently_pages import reference_frame, served_version, write_drift_page
from ato.report.html import Page
from ato.report.nightly import _drift_pages
from ato.tables import DECISIONS
from tests.conftest import make_settings

pytestmark = pytest.mark.unit
DAY = date(2026, 9, 10)


def vectors(n: int, rng: np.random.Generator, shift: float = 0.0) -> pd.DataFrame:
    df = pd.DataFrame({f: rng.poisson(2.0, n).astype(float) for f in FEATURES if f not in CATEGORICAL_FEATURES})
    for f in CATEGORICAL_FEATURES:
        df[f] = rng.choice(["a", "b", "c"], n)
    df["ip_failures_24h"] += shift * rng.poisson(6.0, n)
    return df


def test_a_drift_page_for_the_model_that_served_the_day_on_a_sample(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    s = make_settings(tmp_path, ATO_MODEL_DIR=str(tmp_path / "models"), ATO_PATHS__REPORTS=str(tmp_path / "reports"),
                      ATO_MONITOR__MIN_DECISIONS="500")
    rng = np.random.default_rng(3)
    ref_rows = vectors(3000, rng)
    ref = reference(ref_rows, FEATURES, CATEGORICAL_FEATURES, rng.random(3000))
    folder = tmp_path / "models" / "v1"
    folder.mkdir(parents=True)
    write_reference(folder, ref)
    (tmp_path / "models" / "champion").write_text(json.dumps({"version": "v1"}))

    drawn = reference_frame(ref, 4000)
    assert set(drawn.columns) == {*FEATURES, SCORE}
    assert drawn["logins_30d"].mean() == pytest.approx(ref_rows["logins_30d"].mean(), rel=0.1)
    assert set(drawn["outcome"].dropna()) <= {"a", "b", "c", "(other)"}

    assert write_drift_page(s, DAY) is None, "no decisions yet"
    cur = vectors(800, rng, shift=1.0)
    cur["logins_30d"] = 1e6  # constant on the day and far out (the DAG test's audited inputs are so)
    rows = [{"decision_id": f"d{i}", "decided_at": pd.Timestamp("2026-09-10T10:00:00Z"), "account_id": "a",
             "action": "allow", "fallback_level": 0, "model_version": "v1", "risk_score": float(rng.random()),
             "features_json": json.dumps(r), "decided_date": DAY} for i, r in enumerate(cur.to_dict("records"))]
    deltars.write(s, "gold", DECISIONS, pa.Table.from_pylist(rows[:400], schema=SCHEMA), partition_by=["decided_date"])
    assert write_drift_page(s, DAY) is None, "400 decisions: under monitor.min_decisions"
    deltars.write(s, "gold", DECISIONS, pa.Table.from_pylist(rows[400:], schema=SCHEMA), partition_by=["decided_date"])
    # That night's drift retrained and promoted v2 (its own reference, none of the day's decisions),
    # and 900 level-0 decisions came from a version with no reference: the page is still v1's.
    (tmp_path / "models" / "v2").mkdir()
    write_reference(tmp_path / "models" / "v2", ref)
    (tmp_path / "models" / "champion").write_text(json.dumps({"version": "v2"}))
    other = [{**r, "decision_id": f"o{i}", "model_version": "v0"} for i, r in enumerate(rows + rows[:100])]
    deltars.write(s, "gold", DECISIONS, pa.Table.from_pylist(other, schema=SCHEMA), partition_by=["decided_date"])
    assert served_version(s, DAY) == "v1"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = write_drift_page(s, DAY)
    noise = [f"{w.category.__name__}: {w.message}" for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not noise, f"numpy's warnings on a constant feature would reach the report task's log: {noise}"
    assert page is not None and page.name == "drift-2026-09-10.html"
    text = page.read_text()
    assert len(text) > 50_000 and "ip_failures_24h" in text and "logins_30d" in text

    # The report links the page the monitor step drew and does not draw it again ...
    def fail(*_: object) -> None:
        raise RuntimeError("an injected fault: the report drew the page again")

    monkeypatch.setattr(evidently_pages, "write_drift_page", fail)
    linked = Page("t")
    _drift_pages(s, linked, DAY)
    assert '<a href="drift-2026-09-10.html">' in linked.render()
    # ... draws it only when it is missing, and a failure there leaves a line, not a broken report.
    page.unlink()
    failed = Page("t")
    _drift_pages(s, failed, DAY)
    assert "per-feature drift page: failed (RuntimeError; see the log)" in failed.render()
    assert "drift-2026-09-10.html" not in failed.render()


def test_the_page_without_per_column_value_drifts_is_the_presets_page() -> None:
    """`drift_preset` drops the `ValueDrift` metrics Evidently's preset computes and never shows: the
    page stays the preset's, element for element once Evidently's random ids are masked."""
    import re

    from evidently.presets import DataDriftPreset

    from ato.report.evidently_pages import drift_preset, drift_snapshot

    rng = np.random.default_rng(5)
    ref, cur = vectors(400, rng), vectors(150, rng, shift=2.0)
    keep = ["ip_failures_24h", "logins_30d", CATEGORICAL_FEATURES[0]]

    def page(preset: object) -> str:
        html = drift_snapshot(cur[keep], ref[keep], preset).get_html_str(as_iframe=False)
        return re.sub(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", "<id>", html)

    lean, full = page(drift_preset()), page(DataDriftPreset())
    assert "ip_failures_24h" in lean and "Drift is detected" in lean
    assert lean == full
