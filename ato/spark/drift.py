"""gold/drift_daily for night D: the day's serving inputs and scores against each model's
reference (`ato.monitoring.drift`), and the attack mix of challenged logins against the day before.

Binning runs per partition (`mapInPandas` over the audited feature vectors) and only the counts
per bin reach the driver; the KS test reads a sample of at most `KS_ROWS` decisions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ato.model.registry import registry_dir
from ato.monitoring.drift import SCORE, bin_counts, ks, load_reference, mix_shift, n_bins, psi
from ato.settings import Settings
from ato.spark import lake
from ato.tables import DECISIONS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

KS_ROWS = 20_000
SCHEMA = ("decided_date date, model_version string, kind string, name string, psi double, ks double, tvd double, "
          "n long, missing_ref double, missing_cur double, drifted boolean")


def _values(pdf: pd.DataFrame) -> dict[str, Any]:
    """name -> column of a batch of decisions: each audited feature, and the score."""
    feats = pd.DataFrame([json.loads(x) if x else {} for x in pdf["features_json"]])
    return {**{c: feats[c] for c in feats.columns}, SCORE: pdf["risk_score"].to_numpy(float)}


def _counts(dec: DataFrame, ref: dict[str, Any]) -> dict[str, np.ndarray]:
    def count(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in frames:
            got = bin_counts(_values(pdf), ref)
            yield pd.DataFrame([(name, int(b), int(n)) for name, c in got.items() for b, n in enumerate(c) if n],
                               columns=["name", "bin", "n"])

    rows = (dec.select("features_json", "risk_score").mapInPandas(count, "name string, bin int, n long")  # type: ignore[arg-type]
            .groupBy("name", "bin").sum("n").collect())
    out = {name: np.zeros(n_bins(entry), dtype=np.int64) for name, entry in ref["features"].items()}
    for name, b, n in rows:
        out[name][b] = n
    return out


def feature_drift(spark: SparkSession, settings: Settings, night: date) -> list[dict[str, Any]]:
    """One row per model version decided on `night` with a stored reference, per feature and score."""
    from pyspark.sql import functions as F

    m = settings.monitor
    dec = (lake.read(spark, settings.table_path("gold", DECISIONS))
           .where((F.col("decided_date") == F.lit(night)) & (F.col("model_version") != "rules")
                  & F.col("features_json").isNotNull()))
    rows = []
    for (version,) in dec.select("model_version").distinct().collect():
        ref = load_reference(registry_dir(settings) / version)
        if ref is None:
            continue
        mine = dec.where(F.col("model_version") == version)
        counts = _counts(mine, ref)
        n = int(sum(counts[SCORE]))
        sample = mine.select("features_json", "risk_score").sample(fraction=min(1.0, KS_ROWS / max(1, n)), seed=7)
        values = _values(sample.toPandas())
        for name, entry in ref["features"].items():
            p = psi(entry["shares"], counts[name])
            k = ks(entry["sample"], pd.to_numeric(pd.Series(values[name]), errors="coerce").to_numpy(float)) \
                if entry["kind"] == "numeric" and name in values else None
            cur = counts[name]
            rows.append({"decided_date": night, "model_version": version, "kind": "score" if name == SCORE else "feature",
                         "name": "score" if name == SCORE else name, "psi": p, "ks": k, "tvd": None, "n": n,
                         "missing_ref": float(entry["shares"][0]), "missing_cur": float(cur[0] / max(1, cur.sum())),
                         "drifted": bool(n >= m.min_decisions
                                         and (p > m.psi_threshold or (k is not None and k > m.ks_threshold)))})
    return rows


NEW_NETWORK_DAYS = 7  # a challenged login's IP is "new" when no login from it was challenged in this many days before


def _new_networks(challenged: DataFrame, day: date) -> dict[str, int]:
    """Challenged logins of `day` from IPs with (new) or without (seen) a challenged login in the
    `NEW_NETWORK_DAYS` days before it."""
    from pyspark.sql import functions as F

    cur = challenged.where(F.col("decided_date") == F.lit(day)).where(F.col("ip_hash").isNotNull())
    before = (challenged.where(F.col("decided_date").between(F.lit(day - timedelta(days=NEW_NETWORK_DAYS)),
                                                             F.lit(day - timedelta(days=1))))
              .select("ip_hash").distinct().withColumn("seen", F.lit(True)))
    rows = cur.join(before, "ip_hash", "left").groupBy(F.coalesce("seen", F.lit(False)).alias("seen")).count().collect()
    return {("seen" if r[0] else "new"): int(r[1]) for r in rows}


def attack_mix(spark: SparkSession, settings: Settings, night: date) -> list[dict[str, Any]]:
    """Among challenged logins of `night` against the day before: the mix of reason codes, of
    guardrails, of user agents (browser family / OS from the audited vector) and of new vs seen
    networks (IPs without a challenged login in the week before)."""
    from pyspark.sql import functions as F

    yesterday = night - timedelta(days=1)
    challenged = (lake.read(spark, settings.table_path("gold", DECISIONS))
                  .where(F.col("decided_date").between(F.lit(yesterday - timedelta(days=NEW_NETWORK_DAYS)), F.lit(night))
                         & (F.col("action") != "allow")))
    dec = challenged.where(F.col("decided_date").isin(night, yesterday))
    ua = F.concat_ws("/", F.coalesce(F.get_json_object("features_json", "$.ua_family"), F.lit("?")),
                     F.coalesce(F.get_json_object("features_json", "$.os_family"), F.lit("?")))
    keyed = {"reasons": F.explode("reasons"), "guardrails": F.explode("guardrails"), "user_agents": ua}
    rows = []
    for col in (*keyed, "networks"):
        mix: dict[date, dict[str, int]] = {night: {}, yesterday: {}}
        if col == "networks":
            mix = {d: _new_networks(challenged, d) for d in mix}
        else:
            for d, k, n in dec.select("decided_date", keyed[col].alias("k")).groupBy("decided_date", "k").count().collect():
                mix[d][k] = int(n)
        p, tvd = mix_shift(mix[night], mix[yesterday])
        rows.append({"decided_date": night, "model_version": "*", "kind": "attack_mix", "name": col, "psi": p,
                     "ks": None, "tvd": tvd, "n": sum(mix[night].values()), "missing_ref": None, "missing_cur": None,
                     "drifted": bool(p == p and p > settings.monitor.psi_threshold
                                     and min(sum(mix[night].values()), sum(mix[yesterday].values()))
                                     >= settings.monitor.min_decisions)})
    return rows


def drift_rows(spark: SparkSession, settings: Settings, night: date) -> DataFrame:
    """gold/drift_daily rows of `night` (features and score per model version, attack mix)."""
    rows = feature_drift(spark, settings, night) + attack_mix(spark, settings, night)
    return spark.createDataFrame([tuple(r[c.split()[0]] for c in SCHEMA.split(", ")) for r in rows], SCHEMA)
