"""`ato nightly --steps rings`: the ring finder on the lake for one night (README "Fraud rings").

Reads silver (accounts, successful logins and payments of `rings.window_days`, labels), runs
`ato.rings.night.find_night` (candidate pairs and components in pandas; with `rings.engine: spark`,
on Spark: `ato.spark.rings`), and replaces the night's rows of gold/ring_edges, gold/fraud_rings and
gold/ring_nights (the night's outcome, also when it found no ring or had too few cases to look). A
failure leaves the three tables as they were.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd

from ato import tables as T
from ato.rings.components import rings_of
from ato.rings.night import find_night, known_cases, skipped_night
from ato.rings.outputs import NONE_FOUND, ring_night
from ato.spark import lake
from ato.spark.rings import candidate_pairs, components

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from ato.settings import Settings

EDGES_DDL = "ring_id string, a string, b string, score double, reasons array<string>, night date"
RINGS_DDL = ("ring_id string, size long, members array<string>, first_seen timestamp, last_seen timestamp, "
             "top_evidence string, labelled_share double, labelled array<string>, night date")
NIGHTS_DDL = ("outcome string, accounts long, known_cases long, min_cases long, candidate_pairs long, kept_links long, "
              "threshold double, rings long, accounts_in_rings long, carried_ids long, night date")
LINKS_DDL = "account_id string, kind string, value string, time timestamp"
# silver column -> link kind (`ato.rings.profile.KINDS`)
LOGIN_KINDS = {"device_hash": "device", "ip_hash": "ip", "ip_prefix_hash": "ip24"}
PAYMENT_KINDS = {"payee_hash": "payee", "payment_method_hash": "payment_method", "device_hash": "device", "ip_hash": "ip"}


def _activity(spark: SparkSession, settings: Settings, night: date) -> pd.DataFrame:
    """(account_id, kind, value, time): each hashed value an account used in the window, first use."""
    from pyspark.sql import functions as F

    first = night - timedelta(days=settings.rings.window_days - 1)
    parts: list[DataFrame] = []
    for table, kinds, ok in ((T.LOGINS, LOGIN_KINDS, F.col("outcome") == "success"),
                             (T.PAYMENTS, PAYMENT_KINDS, F.lit(True))):
        path = settings.table_path("silver", table)
        if not lake.exists(spark, path):
            continue
        df = lake.read(spark, path).where(F.col("event_date").between(F.lit(first), F.lit(night)) & ok)
        parts += [df.select("account_id", F.lit(kind).alias("kind"), F.col(col).alias("value"),
                            F.col("event_time").alias("time")) for col, kind in kinds.items() if col in df.columns]
    if not parts:
        return pd.DataFrame(columns=["account_id", "kind", "value", "time"])
    union = parts[0]
    for p in parts[1:]:
        union = union.unionByName(p)
    out: pd.DataFrame = (union.where(F.col("value").isNotNull()).groupBy("account_id", "kind", "value")
                         .agg(F.min("time").alias("time")).toPandas())
    return out


def _before(night: date) -> datetime:
    return datetime(night.year, night.month, night.day) + timedelta(days=1)


def build_rings(spark: SparkSession, settings: Settings, night: date, seed: int = 7) -> dict[str, Any]:
    """Find the night's rings and write them; returns the summary (`ato.rings.night.RingNight`).

    Frames cross between Spark and pandas through Arrow (row by row, the demo world's candidate
    pairs alone took minutes a night)."""
    arrow = "spark.sql.execution.arrow.pyspark.enabled"
    before = spark.conf.get(arrow, "false") or "false"
    spark.conf.set(arrow, "true")
    try:
        return _build_rings(spark, settings, night, seed)
    finally:
        spark.conf.set(arrow, before)


def _build_rings(spark: SparkSession, settings: Settings, night: date, seed: int) -> dict[str, Any]:
    from pyspark.sql import functions as F

    accounts = settings.table_path("silver", T.ACCOUNTS)
    if not lake.exists(spark, accounts):
        return {"night": night.isoformat(), "skipped": "no silver/accounts: no account profiles ingested yet"}
    end = F.lit(_before(night))
    profiles_df = lake.read(spark, accounts).where(F.col("event_time") < end).drop("extra", "key_id", "event_date")
    labels = lake.read(spark, settings.table_path("silver", T.LABELS)).where(F.col("reported_at") < end)
    cases = labels.where(F.col("case_id").isNotNull()).select("account_id", "case_id", "reported_at").toPandas() \
        if "case_id" in labels.columns else pd.DataFrame(columns=["account_id", "case_id", "reported_at"])
    labelled = {r[0] for r in labels.where(F.col("label").isin("ato", "fraud")).select("account_id").distinct().collect()}
    rings_path, edges_path = settings.table_path("gold", T.FRAUD_RINGS), settings.table_path("gold", T.RING_EDGES)
    nights_path = settings.table_path("gold", T.RING_NIGHTS)
    previous = pd.DataFrame(columns=["ring_id", "members"])
    if lake.exists(spark, rings_path):
        prev = lake.read(spark, rings_path).where(F.col("night") < F.lit(night))
        last = prev.agg(F.max("night")).first()
        if last is not None and last[0] is not None:
            previous = prev.where(F.col("night") == F.lit(last[0])).select("ring_id", "members").toPandas()

    def spark_pairs(links: pd.DataFrame, caps: dict[str, int], cap: int) -> pd.DataFrame:
        got: pd.DataFrame = candidate_pairs(spark.createDataFrame(links, LINKS_DDL), caps, cap).toPandas()
        return got  # find_night sorts the pairs the same way for both engines

    def spark_components(kept: pd.DataFrame, min_size: int) -> pd.Series:
        if not len(kept):
            return pd.Series(dtype=object)
        labels_: pd.DataFrame = components(spark, spark.createDataFrame(kept, "a string, b string")).toPandas()
        return rings_of(labels_.set_index("account_id")["label"].sort_index(), min_size)

    # a night with too few cases writes no rings: its profiles and 30 days of activity need not be
    # read, only its accounts counted
    known = known_cases(cases)
    if known < settings.rings.min_cases:
        accounts_n = int(profiles_df.select(F.countDistinct("account_id")).first()[0])  # type: ignore[index]
        found = skipped_night(night, accounts_n, known, labelled, settings.rings)
    else:
        engine = (spark_pairs, spark_components) if settings.rings.engine == "spark" else ()
        found = find_night(night, profiles_df.toPandas(), _activity(spark, settings, night), cases, labelled, previous,
                           settings.rings, seed, *engine)
    before = {p: lake.version(spark, p) for p in (edges_path, rings_path, nights_path)}
    where = f"night = DATE'{night.isoformat()}'"
    try:
        lake.together([partial(lake.replace_where, spark.createDataFrame(frame.assign(night=night), ddl), path, where,
                               ["night"])
                       for frame, ddl, path in ((found.edges, EDGES_DDL, edges_path),
                                                (found.rings, RINGS_DDL, rings_path),
                                                (ring_night(found.summary, settings.rings.min_cases), NIGHTS_DDL,
                                                 nights_path))],
                      settings.spark.write_threads)
    except BaseException:
        for path, v in before.items():
            lake.rollback(spark, path, v)
        raise
    return found.summary


def with_ring_features(spark: SparkSession, settings: Settings, snap: DataFrame, as_of_dates: list[date]) -> DataFrame:
    """The account snapshot with `ring_size` and `ring_labelled_share` (`ato.features.columns.RING_FEATURES`):
    the account's ring on the latest ring night up to each as-of date (0 when in none, or before any
    ring night). A night whose pair model ran and kept no ring is a ring night too (gold/ring_nights):
    the rings of a night before it no longer stand. Point in time: a ring night reads only what was
    reported by its end."""
    from pyspark.sql import functions as F

    path = settings.table_path("gold", T.FRAUD_RINGS)
    out = snap
    if lake.exists(spark, path):
        nights = sorted({r[0] for r in lake.read(spark, path).select("night").distinct().collect()} | _empty_nights(spark, settings))
        pick = [(d, max(n for n in nights if n <= d)) for d in as_of_dates if nights and nights[0] <= d]
        if pick:
            which = spark.createDataFrame(pick, "as_of_date date, night date")
            members = (lake.read(spark, path).where(F.col("night").isin([n for _, n in pick]))
                       .select("night", F.explode("members").alias("account_id"), "size", "labelled_share"))
            ring = which.join(members, "night").select(
                "account_id", "as_of_date", F.col("size").alias("ring_size"), F.col("labelled_share").alias("ring_labelled_share"))
            out = snap.join(ring, ["account_id", "as_of_date"], "left")
    if "ring_size" not in out.columns:
        out = out.withColumn("ring_size", F.lit(None).cast("long")).withColumn("ring_labelled_share", F.lit(None).cast("double"))
    return out.withColumn("ring_size", F.coalesce("ring_size", F.lit(0)).cast("long")).withColumn(
        "ring_labelled_share", F.coalesce("ring_labelled_share", F.lit(0.0)))


def _empty_nights(spark: SparkSession, settings: Settings) -> set[date]:
    """Nights whose pair model ran and kept no ring (a lake from before gold/ring_nights has none)."""
    from pyspark.sql import functions as F

    path = settings.table_path("gold", T.RING_NIGHTS)
    if not lake.exists(spark, path):
        return set()
    return {r[0] for r in lake.read(spark, path).where(F.col("outcome") == NONE_FOUND).select("night").collect()}
