"""Daily partials: one small row per key and event date, the building block of the 30-day
snapshots. Counts and sums add up across days; sets are sorted arrays that union; the
latest login is a struct whose max is the latest. A night derives one day of them.

Tables (all partitioned by event_date): gold/account_activity_daily,
gold/ip_activity_daily, gold/device_activity_daily.
"""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

FAILED_PAYMENT = ("failed", "declined")


def sorted_set(col: Column | str) -> Column:
    """Distinct non-null values as a sorted array (sorted so that tables hash the same on re-runs)."""
    from pyspark.sql import functions as F

    return F.array_sort(F.collect_set(col))


def exact_sum(col: Column | str) -> Column:
    """Sum of doubles in sorted order: the same bits whatever the partitioning, so re-runs
    hash equal (a plain `sum` adds in arrival order and may differ in the last digit)."""
    from pyspark.sql import functions as F

    return F.aggregate(F.array_sort(F.collect_list(col)), F.lit(0.0), lambda acc, x: acc + x)


def _ok() -> Column:
    from pyspark.sql import functions as F

    return F.col("outcome") == "success"


def account_partials(logins: DataFrame, sessions: DataFrame, payments: DataFrame, changes: DataFrame) -> DataFrame:
    """Per (account_id, event_date): login counts and sets, habit sums, sessions, payments, changes."""
    from pyspark.sql import functions as F

    ok = _ok()
    angle = (F.unix_micros("event_time") % 86_400_000_000) / F.lit(86_400_000_000.0) * (2 * math.pi)
    lg = logins.groupBy("account_id", "event_date").agg(
        F.count("*").alias("logins"),
        F.sum((~ok).cast("int")).alias("failed_logins"),
        F.sum(ok.cast("int")).alias("successful_logins"),
        *[sorted_set(c).alias(n) for c, n in (("device_hash", "devices"), ("ip_hash", "ips"),
                                              ("country", "countries"), ("asn", "asns"))],
        *[sorted_set(F.when(ok, F.col(c))).alias(n) for c, n in (
            ("device_hash", "ok_devices"), ("ip_hash", "ok_ips"), ("country", "ok_countries"), ("asn", "ok_asns"))],
        exact_sum(F.when(ok, F.sin(angle))).alias("hour_sin"),
        exact_sum(F.when(ok, F.cos(angle))).alias("hour_cos"),
        F.min(F.when(ok, F.col("event_time"))).alias("first_ok_login"),
        F.max(F.when(ok, F.struct(F.col("event_time").alias("time"), F.col("latitude").alias("lat"),
                                  F.col("longitude").alias("lon"), "country", "asn"))).alias("last_ok"),
    )
    ss = sessions.groupBy("account_id", "event_date").agg(
        F.count("*").alias("sessions"),
        F.sum("duration_s").cast("double").alias("session_s_sum"),
        F.sum(F.col("duration_s").cast("double") ** 2).alias("session_s_sq_sum"),
        F.count("duration_s").alias("sessions_ended"),
        F.max("duration_s").alias("session_s_max"),
    )
    failed = F.col("status").isin(*FAILED_PAYMENT)
    py = payments.groupBy("account_id", "event_date").agg(
        F.count("*").alias("payments"),
        exact_sum(F.col("amount").cast("double")).alias("payment_amount_sum"),
        F.max("amount").alias("payment_amount_max"),
        F.sum(failed.cast("int")).alias("failed_payments"),
        F.max(F.when(failed, F.col("event_time"))).alias("last_failed_payment"),
    )
    ch = changes.groupBy("account_id", "event_date").agg(F.count("*").alias("account_changes"))
    # One union and one aggregation instead of three full outer joins (one shuffle, not three).
    frames = [lg, ss, py, ch]
    cols = [c for f in frames for c in f.columns if c not in ("account_id", "event_date")]
    df = frames[0]
    for f in frames[1:]:
        df = df.unionByName(f, allowMissingColumns=True)
    df = df.groupBy("account_id", "event_date").agg(*[F.first(c, ignorenulls=True).alias(c) for c in cols])
    zero = ["logins", "failed_logins", "successful_logins", "sessions", "sessions_ended", "payments",
            "failed_payments", "account_changes"]
    df = df.fillna(0, subset=zero).fillna(0.0, subset=["hour_sin", "hour_cos", "session_s_sum", "session_s_sq_sum",
                                                          "payment_amount_sum"])
    for c in ("devices", "ips", "countries", "ok_devices", "ok_ips", "ok_countries"):
        df = df.withColumn(c, F.coalesce(c, F.array().cast("array<string>")))
    for c in ("asns", "ok_asns"):
        df = df.withColumn(c, F.coalesce(c, F.array().cast("array<bigint>")))
    return df


def entity_partials(logins: DataFrame, key: str) -> DataFrame:
    """Per (IP or device hash, event_date): attempts, failures, the accounts behind it, first/last seen."""
    from pyspark.sql import functions as F

    return logins.where(F.col(key).isNotNull()).groupBy(key, "event_date").agg(
        F.count("*").alias("attempts"),
        F.sum((~_ok()).cast("int")).alias("failures"),
        sorted_set("account_id").alias("accounts"),
        F.min("event_time").alias("first_seen"),
        F.max("event_time").alias("last_seen"),
    )


def build_partials(silver: dict[str, DataFrame], dates: list[date]) -> dict[str, DataFrame]:
    """The three partial tables for `dates` from silver frames (logins, sessions, payments, account_changes)."""
    from ato.spark.lake import in_dates

    day = {k: v.where(in_dates("event_date", dates)) for k, v in silver.items()}
    return {
        "account": account_partials(day["logins"], day["sessions"], day["payments"], day["account_changes"]),
        "ip": entity_partials(day["logins"], "ip_hash"),
        "device": entity_partials(day["logins"], "device_hash"),
    }
