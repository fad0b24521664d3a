"""The nightly `monitor` step for night N: decisions joined with the labels known by the end of N.

- `gold/decision_outcomes`: one row per decision of the last `monitor.outcome_days` days with the
  label attributed as training attributes it (`ato.spark.labels`, read on night N instead of at a
  fixed maturity), the action the rules alone would have taken on the audited features, and the
  day's age. Rebuilt for those days every night, so late chargebacks land in old days.
- `gold/model_performance_daily`: per decided day x model version x fallback level, the counts of
  `ato.monitoring.metrics.COUNTS` and the metrics derived from them, with the day's label maturity.
- `gold/business_daily`: the same per decided day over all traffic (ATO rate, false lockouts,
  friction index, losses prevented vs friction cost, and against the rules alone).
- `gold/shadow_daily`: per decided day x champion x shadow version, the same counts and metrics for
  each `side` (the champion's model action before the policy, the shadow's action) over the decisions
  the shadow scored: the two models on the same logins (`ato promote --require-live` reads it).
- `gold/drift_daily`: the night's serving inputs and scores against each model's reference, and the
  attack mix against the day before (`ato.spark.drift`).

Counting is Spark's (it scales with decisions); the metrics are derived from the counts in
`ato.monitoring.metrics`, once for every table and report.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd

from ato.model.actions import ACTIONS
from ato.model.labels import NOVELTY_FEATURES
from ato.model.rules import rules_path
from ato.monitoring.metrics import CHALLENGES, SHORT, derive, maturity
from ato.settings import Settings
from ato.spark import lake
from ato.spark.labels import login_labels
from ato.spark.session import without_arrow
from ato.tables import (
    BUSINESS_DAILY,
    DECISION_OUTCOMES,
    DECISIONS,
    DRIFT_DAILY,
    LABELS,
    PERFORMANCE_DAILY,
    SHADOW_DAILY,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import Column, DataFrame, SparkSession

GROUP = ("decided_date", "model_version", "fallback_level")
SHADOW_GROUP = ("decided_date", "model_version", "shadow_version", "side")


def _rules_actions(decisions: DataFrame, rules_path: str) -> DataFrame:
    """(decision_id, rules_action): the rules on each decision's audited features (null without them)."""

    def score(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from ato.model.rules import load_rules

        rules = load_rules(rules_path)
        for pdf in frames:
            has = pdf["features_json"].notna().to_numpy()
            out = pd.Series([None] * len(pdf), dtype=object)
            if has.any():
                feats = pd.DataFrame([json.loads(x) for x in pdf.loc[has, "features_json"]])
                out[has] = rules.score_frame(feats, missing_ok=True).action
            yield pd.DataFrame({"decision_id": pdf["decision_id"].to_numpy(), "rules_action": out.to_numpy()})

    return decisions.select("decision_id", "features_json").mapInPandas(score, "decision_id string, rules_action string")  # type: ignore[arg-type]


def decision_outcomes(spark: SparkSession, settings: Settings, night: date) -> DataFrame:
    """The outcome rows of the decisions of [night - outcome_days + 1, night]."""
    from pyspark.sql import functions as F

    first = night - timedelta(days=settings.monitor.outcome_days - 1)
    dec = (lake.read(spark, settings.table_path("gold", DECISIONS))
           .where(F.col("decided_date").between(F.lit(first), F.lit(night))))
    logins = (dec.where(F.col("event_id").isNotNull())
              .groupBy("event_id").agg(F.first("account_id").alias("account_id"), F.min("event_time").alias("event_time"))
              .withColumn("login_date", F.to_date("event_time")))
    labels = lake.read(spark, settings.table_path("silver", LABELS))
    lab = login_labels(logins, labels, 0, dict(settings.labels.weights), as_of=night).select(
        "event_id", "label", "label_source", "attack_type", "label_as_of")
    rules = _rules_actions(dec, str(rules_path(settings).resolve()))
    novel = F.lit(False)
    for f in NOVELTY_FEATURES:
        novel = novel | F.coalesce(F.get_json_object("features_json", f"$.{f}").cast("double") == 1, F.lit(False))
    return (dec.withColumn("_novel", novel).drop("features_json", "source_file")
            .join(lab, "event_id", "left").join(rules, "decision_id", "left")
            .withColumn("label", F.coalesce("label", F.lit(0)))
            .withColumn("label_source", F.coalesce("label_source", F.lit("unreported")))
            # as in training (ato.model.labels): an account window at no new place is the owner's as likely
            .withColumn("ambiguous", (F.col("label_source") == "account_window") & ~F.col("_novel")).drop("_novel")
            .withColumn("label_as_of", F.lit(night))
            .withColumn("age_days", F.datediff(F.lit(night), "decided_date")))


def count_columns() -> list[Column]:
    """The aggregations behind `ato.monitoring.metrics.COUNTS`, over outcome rows."""
    from pyspark.sql import functions as F

    ato, legit = (F.col("label") == 1) & ~F.col("ambiguous"), F.col("label") == 0
    act, rules_act = F.col("action"), F.col("rules_action")
    calibrated = (F.col("model_version") != "rules") & F.col("risk_score").isNotNull()
    challenged = act.isin(*CHALLENGES)
    p = F.when(calibrated, F.col("risk_score"))

    def n(cond: Column) -> Column:
        return F.count(F.when(cond, 1))

    cols = [
        F.count(F.lit(1)).alias("decisions"), F.countDistinct("account_id").alias("accounts"),
        # an account with any takeover label had a takeover, whatever its ambiguous logins
        F.countDistinct(F.when(F.col("label") == 1, F.col("account_id"))).alias("ato_accounts"),
        n(ato).alias("ato"), n(legit).alias("legit"), n(F.col("label_source") != "unreported").alias("labelled"),
        n((act == "temporary_lock") & legit & (F.col("label_source") != "unreported")).alias("confirmed_false_locks"),
        n((act == "step_up_mfa") & (F.col("label_source") == "step_up_passed")).alias("step_up_passed"),
        n(F.col("ambiguous")).alias("ambiguous"), n(calibrated).alias("calibrated"), n(calibrated & challenged).alias("cal_challenged"),
        F.coalesce(F.sum(p), F.lit(0.0)).alias("est_ato"),
        F.coalesce(F.sum(F.when(challenged, p)), F.lit(0.0)).alias("est_ato_challenged"),
        F.coalesce(F.sum(1 - p), F.lit(0.0)).alias("est_legit"),
        F.coalesce(F.sum(F.when(challenged, 1 - p)), F.lit(0.0)).alias("est_legit_challenged"),
        n(rules_act.isNotNull()).alias("rules_scored"),
    ]
    for a in ACTIONS:
        s = SHORT[a]
        cols += [n(act == a).alias(f"n_{s}"), n(ato & (act == a)).alias(f"ato_{s}"),
                 n(legit & (act == a)).alias(f"legit_{s}"), n(ato & (rules_act == a)).alias(f"rules_ato_{s}"),
                 n(legit & (rules_act == a)).alias(f"rules_legit_{s}")]
    return cols


def shadow_sides(out: DataFrame) -> DataFrame | None:
    """The shadowed outcome rows twice: side `champion` with the champion model's own action (before
    the policy, which the shadow never meets), side `shadow` with the shadow's score and action.
    None when gold/decisions has no shadow column yet."""
    from pyspark.sql import functions as F

    if "shadow_score" not in out.columns:
        return None
    shadowed = out.where(F.col("shadow_score").isNotNull())
    champ = shadowed.withColumn("side", F.lit("champion")).withColumn("action", F.coalesce("model_action", "action"))
    shadow = (shadowed.withColumn("side", F.lit("shadow")).withColumn("action", F.col("shadow_action"))
              .withColumn("risk_score", F.col("shadow_score")))
    return champ.unionByName(shadow)


def label_delays(spark: SparkSession, settings: Settings, night: date) -> list[int]:
    """Days from attack (or the login it names) to report, of takeover labels of the lookback."""
    from pyspark.sql import functions as F

    lab = lake.read(spark, settings.table_path("silver", LABELS)).where(
        (F.col("label") == "ato") & (F.to_date("reported_at") <= F.lit(night))
        & (F.to_date("reported_at") > F.lit(night - timedelta(days=settings.monitor.maturity_lookback_days))))
    start = F.coalesce("attack_started_at", "reported_at")
    rows = lab.select(F.greatest(F.datediff(F.to_date("reported_at"), F.to_date(start)), F.lit(0)).alias("d")) \
        .groupBy("d").count().collect()
    return [int(r[0]) for r in rows for _ in range(int(r[1]))]


def _to_pandas(df: DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    rows = df.groupBy(*keys).agg(*count_columns()).collect()
    return pd.DataFrame([r.asDict() for r in rows]).sort_values(list(keys), ignore_index=True) if rows else pd.DataFrame()


def run_monitor(spark: SparkSession, settings: Settings, night: date) -> dict[str, Any]:
    """Write the three tables for `night`; returns what it wrote (rows per table, days covered)."""
    from pyspark.sql import functions as F

    if not lake.exists(spark, settings.table_path("gold", DECISIONS)):
        return {"night": night.isoformat(), "decision_days": 0, "note": "no gold/decisions yet"}
    out = decision_outcomes(spark, settings, night).persist()
    try:
        days = sorted(r[0] for r in out.select("decided_date").distinct().collect())
        if not days:
            return {"night": night.isoformat(), "decision_days": 0}
        pred = lake.in_dates("decided_date", days)
        # (decisions gain audit columns over time, e.g. the shadow's: outcomes follow)
        lake.replace_where(out, settings.table_path("gold", DECISION_OUTCOMES), pred, ["decided_date"], merge_schema=True)
        delays = label_delays(spark, settings, night)
        tables = {PERFORMANCE_DAILY: _to_pandas(out, GROUP), BUSINESS_DAILY: _to_pandas(out, ("decided_date",))}
        sides = shadow_sides(out)
        if sides is not None:
            tables[SHADOW_DAILY] = _to_pandas(sides, SHADOW_GROUP)
    finally:
        out.unpersist()
    writes: dict[str, tuple[DataFrame, str]] = {}  # table -> (rows, the dates they replace)
    written: dict[str, int] = {}
    if night in days:
        from ato.spark.drift import drift_rows

        writes[DRIFT_DAILY] = drift_rows(spark, settings, night), lake.in_dates("decided_date", [night])
    for name, counts in tables.items():
        if counts.empty:  # no shadow ran on these days
            continue
        d = derive(counts, settings.costs)
        d["label_maturity"] = maturity(delays, [(night - x).days for x in d["decided_date"]])
        d["night"] = night
        with without_arrow(spark):  # "NaN without any" (gold/model_performance_daily's dictionary)
            sdf = spark.createDataFrame(d)
        sdf = sdf.withColumn("decided_date", F.col("decided_date").cast("date")).withColumn("night", F.col("night").cast("date"))
        writes[name], written[name] = (sdf, pred), len(d)
    lake.together([partial(lake.replace_where, df, settings.table_path("gold", name), where, ["decided_date"])
                   for name, (df, where) in writes.items()], settings.spark.write_threads)
    if DRIFT_DAILY in writes:
        written[DRIFT_DAILY] = writes[DRIFT_DAILY][0].count()
    return {"night": night.isoformat(), "decision_days": len(days), "rows": written,
            "label_delays": len(delays)}
