"""The nightly `monitor` step: decisions of the small world's logins joined with its real labels,
rolled up per day, model version and fallback level, equal to an independent DuckDB computation."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute
import pytest

from ato import deltars
from ato.decisions import SCHEMA
from ato.features.columns import CATEGORICAL_FEATURES, FEATURES
from ato.model.registry import registry_dir
from ato.monitoring.drift import bin_numeric, psi, reference, write_reference
from ato.settings import Settings
from ato.tables import (
    BUSINESS_DAILY,
    DECISION_OUTCOMES,
    DECISIONS,
    DRIFT_DAILY,
    LABELS,
    PERFORMANCE_DAILY,
    SHADOW_DAILY,
    TRAINING,
)
from tests.conftest import make_settings

pytestmark = pytest.mark.spark

NIGHT = date(2026, 8, 7)
SHIFTED_DAY, SHIFTED = date(2026, 8, 6), "ip_attempts_24h"


def _u(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 2**32


def _decisions(src: Settings) -> pa.Table:
    """One decision per training-set login (and a retried one), scores that lean on the label,
    actions from score bands, three fallback levels and two model versions."""
    df = deltars.read(src, "gold", TRAINING, columns=["event_id", "account_id", "event_time", "login_date", "label",
                                                       "ip_hash", "device_hash", *FEATURES]).to_pandas()
    rows = []
    for r in df.sort_values("event_id").itertuples(index=False):
        u, v = _u(r.event_id), _u(r.event_id + "lvl")
        level = 0 if v < 0.8 else (1 if v < 0.9 else 2)
        p = min(0.99, 0.02 + 0.9 * u * (3 if r.label == 1 else 0.15))
        action = ("temporary_lock" if p >= 0.6 else "manual_review" if p >= 0.4 else "step_up_mfa" if p >= 0.1
                  else "allow")
        feats = {f: (None if isinstance(x, float) and math.isnan(x) else x) for f in FEATURES
                 if (x := getattr(r, f)) is not None}
        if r.login_date == SHIFTED_DAY and (x := feats.get(SHIFTED)) is not None:
            feats[SHIFTED] = x * 10 + 5  # a broken speed-layer counter on the last day
        shadow: dict[str, Any] = {"model_action": action}
        if level == 0 and r.login_date > date(2026, 8, 3):  # v2's model decisions, with v3 in shadow
            q = min(0.99, 0.02 + 0.9 * _u(r.event_id + "sh") * (4 if r.label == 1 else 0.1))
            shadow |= {"shadow_version": "v3", "shadow_score": q, "shadow_action": "temporary_lock" if q >= 0.6 else
                       "step_up_mfa" if q >= 0.1 else "allow"}
        rows.append({
            **shadow, "decision_id": "d_" + r.event_id, "event_id": r.event_id, "account_id": r.account_id,
            "event_time": r.event_time, "decided_at": r.event_time + timedelta(milliseconds=5), "ip_hash": r.ip_hash,
            "device_hash": r.device_hash, "channel": "web", "outcome": "success", "risk_score": p, "action": action,
            "reasons": [], "fallback_level": level, "model_version": "rules" if level == 2 else
            ("v1" if r.login_date <= date(2026, 8, 3) else "v2"), "latency_ms": 1.0,
            "features_json": json.dumps(feats, default=str), "decided_date": r.event_time.date(),
            "guardrails": [], "source_file": "test"})
    rows.append({**rows[0], "decision_id": "d_retry", "decided_at": rows[0]["decided_at"] + timedelta(seconds=1)})
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def _reference(s: Settings, decisions: pa.Table) -> dict[str, Any]:
    """v2's reference from its first two days' decisions (as training would store it), for v2's models dir."""
    rows = [d for d in decisions.to_pylist() if d["model_version"] == "v2" and d["decided_date"] < SHIFTED_DAY]
    df = pd.DataFrame([json.loads(d["features_json"]) for d in rows]).reindex(columns=list(FEATURES))
    ref = reference(df, FEATURES, CATEGORICAL_FEATURES, np.array([d["risk_score"] for d in rows]))
    folder = registry_dir(s) / "v2"
    folder.mkdir(parents=True)
    write_reference(folder, ref)
    return ref


INDEPENDENT = """
WITH dec AS (SELECT * FROM decisions),
logins AS (SELECT event_id, first(account_id) AS account_id, min(event_time) AS event_time FROM dec GROUP BY 1),
lab AS (SELECT account_id, login_event_id, CASE WHEN label = 'ato' THEN 1 ELSE 0 END AS y, source, reported_at,
               attack_started_at FROM labels WHERE reported_at < TIMESTAMPTZ '{cutoff} 00:00:00+00'),
direct AS (
  SELECT event_id, y, source FROM (
    SELECT g.event_id, l.y, l.source, row_number() OVER (PARTITION BY g.event_id ORDER BY l.reported_at DESC,
      CASE l.source WHEN 'analyst' THEN 1 WHEN 'chargeback' THEN 2 WHEN 'step_up_passed' THEN 3
                    WHEN 'customer_report' THEN 4 ELSE 0 END, l.y DESC) AS rn
    FROM logins g JOIN lab l ON l.login_event_id = g.event_id) WHERE rn = 1),
win AS (SELECT DISTINCT g.event_id FROM logins g JOIN lab l ON l.account_id = g.account_id
        WHERE l.login_event_id IS NULL AND l.y = 1 AND l.attack_started_at IS NOT NULL
          AND g.event_time BETWEEN l.attack_started_at AND l.reported_at),
o0 AS (
  SELECT dec.*, coalesce(direct.y, CASE WHEN win.event_id IS NOT NULL THEN 1 END, 0) AS y0,
         coalesce(direct.source, CASE WHEN win.event_id IS NOT NULL THEN 'account_window' END, 'unreported') AS src
  FROM dec LEFT JOIN direct USING (event_id) LEFT JOIN win USING (event_id)),
o AS (  -- an account window at no new device, ASN or country is ambiguous: out of precision and recall
  SELECT *, CASE WHEN src = 'account_window' AND NOT (
              coalesce(TRY_CAST(json_extract_string(features_json, '$.new_device') AS DOUBLE) = 1, false)
              OR coalesce(TRY_CAST(json_extract_string(features_json, '$.new_asn') AS DOUBLE) = 1, false)
              OR coalesce(TRY_CAST(json_extract_string(features_json, '$.new_country') AS DOUBLE) = 1, false))
            THEN NULL ELSE y0 END AS y
  FROM o0)
SELECT decided_date, model_version, fallback_level, count(*) AS decisions,
       count(DISTINCT account_id) AS accounts, sum(y) AS ato, sum(1 - y) AS legit,
       count(*) FILTER (y IS NULL) AS ambiguous,
       count(*) FILTER (action = 'temporary_lock') AS n_lock,
       count(*) FILTER (action = 'step_up_mfa' AND src = 'step_up_passed') AS step_up_passed,
       sum(y) FILTER (action <> 'allow') / nullif(sum(y), 0) AS recall_challenged,
       sum(y) FILTER (action = 'step_up_mfa') / nullif(count(*) FILTER (action = 'step_up_mfa'), 0) AS precision_step_up,
       count(*) FILTER (action = 'temporary_lock' AND y = 0) / nullif(sum(1 - y), 0) AS false_lock_rate,
       sum(y) FILTER (action = 'allow') AS takeovers_allowed,
       sum(risk_score) FILTER (action <> 'allow' AND model_version <> 'rules')
         / nullif(sum(risk_score) FILTER (model_version <> 'rules'), 0) AS est_recall_challenged,
       count(DISTINCT account_id) FILTER (y0 = 1) * 10000.0 / count(DISTINCT account_id) AS ato_rate_per_10k
FROM o GROUP BY ALL ORDER BY ALL
"""


def _same(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def test_model_performance_daily_equals_an_independent_duckdb_computation(
        spark: Any, backfilled: tuple[Settings, Any], tmp_path: Path) -> None:
    from ato.spark.monitor import run_monitor

    src, _ = backfilled
    # the small world decides ~400 model logins a day: under the default minimum for drift
    s = make_settings(tmp_path, ATO_MONITOR__MIN_DECISIONS="200")
    shutil.copytree(Path(src.table_path("silver", LABELS)), Path(s.table_path("silver", LABELS)))
    decisions = _decisions(src)
    deltars.write(s, "gold", DECISIONS, decisions, mode="overwrite", partition_by=["decided_date"])
    ref = _reference(s, decisions)

    # Drift of the last decided day: every feature and the score against v2's reference, the
    # shifted counter caught, its PSI equal to numpy's on the same vectors.
    run_monitor(spark, s, SHIFTED_DAY)
    drift = deltars.read(s, "gold", DRIFT_DAILY).to_pandas()
    v2 = drift[drift["model_version"] == "v2"].set_index("name")
    assert set(v2.index) == {*FEATURES, "score"} and (v2["decided_date"] == SHIFTED_DAY).all()
    assert v2.loc[SHIFTED, "drifted"] and v2.loc[SHIFTED, "psi"] > 1 and v2.loc[SHIFTED, "n"] >= 200
    day = decisions.filter(pa.compute.equal(decisions["decided_date"], pa.scalar(SHIFTED_DAY))).to_pylist()
    vals = [json.loads(d["features_json"]).get(SHIFTED) for d in day if d["model_version"] == "v2"]
    entry = ref["features"][SHIFTED]
    counts = np.bincount(bin_numeric(np.array([np.nan if v is None else v for v in vals], float), entry["edges"]),
                         minlength=len(entry["edges"]) + 2)
    assert v2.loc[SHIFTED, "psi"] == pytest.approx(psi(entry["shares"], counts))
    mix = drift[drift["kind"] == "attack_mix"].set_index("name")
    assert set(mix.index) == {"reasons", "guardrails", "user_agents", "networks"}
    challenged = [d for d in day if d["action"] != "allow"]
    assert mix.loc["user_agents", "n"] == len(challenged) > 0
    assert mix.loc["networks", "n"] == sum(1 for d in challenged if d["ip_hash"])

    out = run_monitor(spark, s, NIGHT)
    assert out["decision_days"] == 6 and out["rows"][BUSINESS_DAILY] == 6

    con = duckdb.connect()
    con.register("decisions", deltars.dataset(s, "gold", DECISIONS))
    con.register("labels", deltars.dataset(s, "silver", LABELS))
    want = con.sql(INDEPENDENT.format(cutoff=NIGHT + timedelta(days=1))).df()
    got = deltars.read(s, "gold", PERFORMANCE_DAILY).to_pandas().sort_values(
        ["decided_date", "model_version", "fallback_level"], ignore_index=True)
    assert len(got) == len(want) > 6
    # a rate without a denominator is stored as NaN, as the dictionary says, not as null
    stored = deltars.read(s, "gold", PERFORMANCE_DAILY)
    rates = [c for c in stored.column_names if pa.types.is_floating(stored[c].type)]
    assert [c for c in rates if stored[c].null_count] == []
    assert any(pa.compute.sum(pa.compute.is_nan(stored[c])).as_py() for c in rates)
    assert want["ato"].sum() > 0 and want["n_lock"].sum() > 0 and want["takeovers_allowed"].sum() > 0
    assert want["ambiguous"].sum() > 0, "the small world has owner logins inside account windows"
    for col in want.columns[3:]:
        pairs = list(zip(want[col], got[col], strict=True))
        bad = [(i, a, b) for i, (a, b) in enumerate(pairs) if not _same(a, b)]
        assert not bad, (col, bad[:5])

    # The day over all traffic: its ATO rate counts each account once, whatever its groups.
    business = deltars.read(s, "gold", BUSINESS_DAILY).to_pandas().sort_values("decided_date", ignore_index=True)
    per_day = con.sql(INDEPENDENT.format(cutoff=NIGHT + timedelta(days=1)).replace(
        "decided_date, model_version, fallback_level, count", "decided_date, count")).df()
    for col in ("decisions", "ato", "ato_rate_per_10k", "recall_challenged", "false_lock_rate"):
        assert all(_same(a, b) for a, b in zip(per_day[col], business[col], strict=True)), col
    assert (business["label_maturity"].between(0, 1)).all()
    assert business["label_maturity"].is_monotonic_decreasing  # older days are more complete
    assert (business["rules_scored"] == business["decisions"]).all()
    assert business["net_benefit_vs_rules"].notna().all()

    # Champion vs shadow on the decisions the shadow scored: each side as the independent query
    # computes it with that side's action and score.
    shadow = deltars.read(s, "gold", SHADOW_DAILY).to_pandas()
    assert set(shadow["side"]) == {"champion", "shadow"} and set(shadow["shadow_version"]) == {"v3"}
    for name, act, score in (("champion", "model_action", "risk_score"), ("shadow", "shadow_action", "shadow_score")):
        con.sql(f"CREATE OR REPLACE VIEW side AS SELECT * REPLACE ({act} AS action, {score} AS risk_score) "
                "FROM decisions WHERE shadow_score IS NOT NULL")
        want_side = con.sql(INDEPENDENT.format(cutoff=NIGHT + timedelta(days=1)).replace(
            "SELECT * FROM decisions", "SELECT * FROM side")).df()
        got_side = shadow[shadow["side"] == name].sort_values("decided_date", ignore_index=True)
        assert len(got_side) == len(want_side) == 3 and want_side["ato"].sum() > 0
        for col in ("decisions", "ato", "legit", "n_lock", "recall_challenged", "false_lock_rate",
                    "est_recall_challenged", "takeovers_allowed"):
            assert all(_same(a, b) for a, b in zip(want_side[col], got_side[col], strict=True)), (name, col)
    sides = shadow.groupby("side")["recall_challenged"].mean()
    assert sides["shadow"] != sides["champion"]

    # One outcome row per decision (the retried one included), re-run gives the same tables.
    outcomes = deltars.read(s, "gold", DECISION_OUTCOMES).to_pandas()
    assert len(outcomes) == int(want["decisions"].sum())
    run_monitor(spark, s, NIGHT)
    again = deltars.read(s, "gold", PERFORMANCE_DAILY).to_pandas().sort_values(
        ["decided_date", "model_version", "fallback_level"], ignore_index=True)
    assert again.equals(got)
