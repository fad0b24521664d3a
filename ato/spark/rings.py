"""Fraud rings on Spark: candidate pairs by capped blocking and connected components in SQL, the
same results as `ato.rings.candidates` and `ato.rings.components` on pandas (tests hold them equal),
so the step runs on local Spark and on a cluster alike.

Links in: (account_id, kind, value, time) as `ato.rings.profile.link_values` builds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ato.rings.candidates import COACTIVE_KINDS
from ato.rings.profile import KINDS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def candidate_pairs(links: DataFrame, caps: dict[str, int], default_cap: int = 50) -> DataFrame:
    """One row per pair (a < b) sharing a value held by 2..cap accounts: `n_<kind>`, `min_block`,
    `coactive_hours` (see `ato.rings.candidates.candidate_pairs`). The block size is a window count;
    the self-join is on (kind, value) of small blocks only, so no block yields more than
    cap * (cap - 1) / 2 rows."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    cap = F.lit(default_cap)
    for kind, c in caps.items():
        cap = F.when(F.col("kind") == kind, F.lit(c)).otherwise(cap)
    sized = links.withColumn("block", F.count("*").over(Window.partitionBy("kind", "value")))
    small = sized.where((F.col("block") >= 2) & (F.col("block") <= cap)).select("kind", "value", "account_id", "time", "block")
    a, b = small.alias("a"), small.alias("b")
    joined = a.join(b, (F.col("a.kind") == F.col("b.kind")) & (F.col("a.value") == F.col("b.value"))
                    & (F.col("a.account_id") < F.col("b.account_id")))
    gap = F.abs(F.col("a.time").cast("double") - F.col("b.time").cast("double")) / 3600
    rows = joined.select(F.col("a.account_id").alias("a"), F.col("b.account_id").alias("b"), F.col("a.kind").alias("kind"),
                         F.col("a.block").alias("block"),
                         F.when(F.col("a.kind").isin(*COACTIVE_KINDS), gap).alias("gap"))
    counts = [F.sum(F.when(F.col("kind") == k, 1).otherwise(0)).cast("long").alias(f"n_{k}") for k in KINDS]
    return rows.groupBy("a", "b").agg(*counts, F.min("block").cast("long").alias("min_block"),
                                      F.min("gap").alias("coactive_hours"))


def components(spark: SparkSession, edges: DataFrame, max_rounds: int = 200) -> DataFrame:
    """(account_id, label): every account of `edges` (a, b) with the smallest account id it is
    connected to. Min-label propagation in SQL: each round a node takes the smallest label among
    itself and its neighbours, then its label's label (pointer jumping), until no label changes.
    Each round is materialised (local checkpoint), so the plan does not grow with the rounds."""
    both = edges.selectExpr("a AS src", "b AS dst").unionByName(edges.selectExpr("b AS src", "a AS dst")).distinct()
    both = both.localCheckpoint()
    both.createOrReplaceTempView("ring_edges_both")
    labels = spark.sql("SELECT src AS account_id, min(least(src, dst)) AS label FROM ring_edges_both GROUP BY src")
    labels = labels.localCheckpoint()
    for _ in range(max_rounds):
        labels.createOrReplaceTempView("ring_labels")
        new = spark.sql("""
            WITH hop AS (
              SELECT e.src AS account_id, min(l.label) AS label
              FROM ring_edges_both e JOIN ring_labels l ON l.account_id = e.dst GROUP BY e.src),
            mins AS (
              SELECT l.account_id, least(l.label, coalesce(h.label, l.label)) AS label
              FROM ring_labels l LEFT JOIN hop h ON h.account_id = l.account_id)
            SELECT m.account_id, least(m.label, coalesce(j.label, m.label)) AS label
            FROM mins m LEFT JOIN ring_labels j ON j.account_id = m.label
        """).localCheckpoint()
        new.createOrReplaceTempView("ring_labels_new")
        changed = spark.sql("SELECT count(*) AS n FROM ring_labels_new n JOIN ring_labels o "
                            "ON n.account_id = o.account_id WHERE n.label <> o.label").first()
        labels = new
        if changed is not None and changed["n"] == 0:
            return labels
    raise RuntimeError(f"ring components did not converge in {max_rounds} rounds")
