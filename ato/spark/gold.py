"""Gold-table I/O for the nightly run: daily partials, snapshots, training set, the output
gate and its log. Transforms live in partials.py / snapshots.py / training.py; this module
only reads silver, writes gold (replaceWhere on the dates it built) and checks the result.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from ato import deltars
from ato.gates import Check, ratio_check, run_id
from ato.settings import Settings
from ato.spark import lake
from ato.spark.compiled_suites import unexpected_counts
from ato.spark.partials import build_partials
from ato.spark.quality import load_suite_spec, run_suite, warm_up
from ato.spark.ring_step import with_ring_features
from ato.spark.snapshots import WINDOW_DAYS, build_snapshots
from ato.spark.training import context_dates, training_rows
from ato.tables import LABELS, LOGINS, PARTIAL_TABLES, SNAPSHOT_TABLES, TRAINING

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from ato.privacy.rotation import Rehash

SILVER_INPUTS = ("logins", "sessions", "payments", "account_changes")


def gold_tables(settings: Settings) -> list[str]:
    """Every gold table the nightly writes (restored together when a night fails)."""
    names = [*PARTIAL_TABLES.values(), *SNAPSHOT_TABLES.values(), TRAINING]
    return [settings.table_path("gold", n) for n in names]


def versions(spark: SparkSession, settings: Settings) -> dict[str, int | None]:
    return {t: lake.version(spark, t) for t in gold_tables(settings)}


COMMIT_TAG_CONF = "spark.databricks.delta.commitInfo.userMetadata"  # Delta writes it into each commit


def restore(spark: SparkSession, versions_before: dict[str, int | None], tag: str) -> list[str]:
    """Put every gold table back to the version it had before the night began, if every commit
    since carries `tag` (this run's); a table with another writer's commit after ours is left as it
    is (restoring it would erase that commit) and returned, with an error logged."""
    import logging

    kept = []
    for t, v in versions_before.items():
        if foreign := lake.foreign_commits(spark, t, v, tag):
            logging.getLogger(__name__).error("not restoring %s: version(s) %s are not this run's", t, foreign)
            kept.append(t)
        else:
            lake.rollback(spark, t, v)
    return kept


def _silver(spark: SparkSession, settings: Settings, stream: str) -> DataFrame:
    """A silver table; an empty one of the right shape for a stream that has sent nothing yet
    (a world without payments still gets snapshots). Logins are required."""
    path = settings.table_path("silver", stream)
    if lake.exists(spark, path):
        return lake.read(spark, path)
    if stream == "logins":
        raise FileNotFoundError(f"{path}: no silver logins yet (run ingest first)")
    from pyspark.sql import functions as F

    from ato.contracts import spark_schema

    df = spark.createDataFrame([], spark_schema(stream)).withColumn("extra", F.lit(None).cast("map<string,string>"))
    df = df.withColumn("event_date", F.lit(None).cast("date"))
    return df.withColumn("duration_s", F.lit(None).cast("bigint")) if stream == "sessions" else df


def _dates_in(settings: Settings, layer: str, table: str, col: str) -> set[date]:
    return set(deltars.partition_dates(settings, layer, table, col))


def build_partials_for(spark: SparkSession, settings: Settings, as_of_dates: list[date],
                       also: set[date] | None = None) -> list[date]:
    """Derive the daily partials the snapshots of `as_of_dates` need: the latest days always
    (late events), any day in their windows that has silver logins but no partial yet, and `also`
    (days whose silver was rebuilt, e.g. re-hashed after a key rotation)."""
    silver = {s: _silver(spark, settings, s) for s in SILVER_INPUTS}
    have = _dates_in(settings, "gold", PARTIAL_TABLES["account"], "event_date")
    with_data = _dates_in(settings, "silver", LOGINS, "event_date")
    need: set[date] = set(also or ()) & with_data
    for d in as_of_dates:
        window = {d - timedelta(days=i) for i in range(WINDOW_DAYS)}
        need |= (window & with_data) - have
        need |= {d - timedelta(days=i) for i in range(settings.batch.rebuild_partials_days)} & with_data
    days = sorted(need)
    if not days:
        return days
    where = lake.in_dates("event_date", days)
    lake.together([partial(lake.replace_where, df.repartition("event_date"),
                           settings.table_path("gold", PARTIAL_TABLES[kind]), where, ["event_date"])
                   for kind, df in build_partials(silver, days).items()], settings.spark.write_threads)
    return days


def rehash_for(spark: SparkSession, settings: Settings, as_of_dates: list[date]) -> Rehash:
    """After a key rotation: rebuild from bronze the silver days of the windows of `as_of_dates`
    hashed under another key (`ato.privacy.rotation`); a no-op (one column read) otherwise."""
    from ato.privacy.rotation import plan_rehash
    from ato.spark.silver import build_silver

    plan = plan_rehash(settings, min(as_of_dates) - timedelta(days=WINDOW_DAYS - 1), max(as_of_dates))
    for stream, days in plan.days.items():
        build_silver(spark, settings, stream, days)
    return plan


def build_snapshots_for(spark: SparkSession, settings: Settings, as_of_dates: list[date]) -> dict[str, int]:
    """Write the three 30-day snapshots of every as-of date; returns rows written per table."""
    partials = {k: lake.read(spark, settings.table_path("gold", t)) for k, t in PARTIAL_TABLES.items()}
    where = lake.in_dates("as_of_date", as_of_dates)

    def write(kind: str, df: DataFrame) -> int:
        path = settings.table_path("gold", SNAPSHOT_TABLES[kind])
        lake.replace_where(df.repartition("as_of_date"), path, where, ["as_of_date"], merge_schema=kind == "account")
        return lake.last_write_rows(spark, path)

    snaps = build_snapshots(partials, as_of_dates)
    # the account's fraud ring, as the rings step found it (README "Fraud rings")
    snaps["account"] = with_ring_features(spark, settings, snaps["account"], as_of_dates)
    rows = lake.together([partial(write, kind, df) for kind, df in snaps.items()], settings.spark.write_threads)
    return {SNAPSHOT_TABLES[kind]: n for kind, n in zip(snaps, rows, strict=True)}


def build_training_for(spark: SparkSession, settings: Settings, login_dates: list[date]) -> int:
    """Write training rows for logins of `login_dates`; their snapshots (day before) must exist."""
    if not login_dates:
        return 0
    ctx = context_dates(login_dates)
    # Read once: the speed-layer keys, the replay and the labels all scan these logins.
    logins = _silver(spark, settings, LOGINS).where(lake.in_dates("event_date", ctx)).persist()
    prev = [d - timedelta(days=1) for d in login_dates]
    snaps = {k: lake.read(spark, settings.table_path("gold", t)).where(lake.in_dates("as_of_date", prev))
             for k, t in SNAPSHOT_TABLES.items()}
    rows = training_rows(logins, snaps, _silver(spark, settings, LABELS), login_dates,
                         settings.batch.label_maturity_days, dict(settings.labels.weights))
    path = settings.table_path("gold", TRAINING)
    try:
        lake.replace_where(rows.repartition("login_date").sortWithinPartitions("event_time", "event_id"), path,
                           lake.in_dates("login_date", login_dates), ["login_date"])
    finally:
        logins.unpersist()
    return lake.last_write_rows(spark, path)


def existing_snapshot_dates(spark: SparkSession, settings: Settings) -> set[date]:
    return _dates_in(settings, "gold", SNAPSHOT_TABLES["account"], "as_of_date")


def output_checks(spark: SparkSession, settings: Settings, as_of_dates: list[date], login_dates: list[date]) -> list[Check]:
    """The gold suites on what the night built (exact counts in one query per table, and GE itself on
    a sample), plus day-over-day snapshot row-count bounds. The Spark queries run first, while GE
    loads beside them (`quality.warm_up`); GE then runs on the samples."""
    from pyspark.sql import functions as F

    n = settings.gates.ge_sample_rows
    ge = warm_up() if n else None
    checks: list[Check] = []
    label = run_id(sorted(as_of_dates))
    frames = {t: (lake.read(spark, settings.table_path("gold", t)).where(lake.in_dates("as_of_date", as_of_dates)))
              for t in SNAPSHOT_TABLES.values()}
    if login_dates and lake.exists(spark, settings.table_path("gold", TRAINING)):
        frames[TRAINING] = lake.read(spark, settings.table_path("gold", TRAINING)).where(lake.in_dates("login_date", login_dates))
    samples: dict[str, tuple[pd.DataFrame, list[dict[str, Any]]]] = {}
    for table, df in frames.items():
        spec = load_suite_spec(f"gold_{table}")
        for desc, (_, bad) in unexpected_counts(df, spec).items():
            checks.append(Check(label, "output", f"{table}: {desc.removeprefix('expectation failed: ')}", bad == 0,
                                float(bad), "0 unexpected"))
        if n:
            samples[table] = (df.orderBy(F.rand(seed=7)).limit(n).toPandas(), spec)
    g = settings.gates
    acct = lake.read(spark, settings.table_path("gold", SNAPSHOT_TABLES["account"]))
    lo = min(as_of_dates) - timedelta(days=1)
    counts = {r[0]: int(r[1]) for r in acct.where(F.col("as_of_date").between(lo, max(as_of_dates)))
              .groupBy("as_of_date").count().collect()}
    if ge is not None:
        ge.join()
    for table, (sample, spec) in samples.items():
        if len(sample):
            res = run_suite(sample, f"gold_{table}_sample", spec)
            checks.append(Check(label, "output", f"{table}: Great Expectations on a {len(sample):,}-row sample",
                                res.success, float(len(res.failed)), "0 failed expectations"))
    for d in sorted(as_of_dates):
        c = ratio_check(d, "account_snapshot_rows_vs_previous_day", counts.get(d, 0),
                        counts.get(d - timedelta(days=1)), g.snapshot_min_ratio, g.snapshot_max_ratio)
        if c:
            checks.append(c)
    return checks
