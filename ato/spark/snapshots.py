"""30-day snapshots per as-of date, rolled up from the daily partials (never from raw events).

A partial of event date e belongs to the snapshots of as-of dates e .. e+29, so one job
builds one night's snapshot (a filter) or a whole backfill range (an explode) alike.
Tables (partitioned by as_of_date): gold/account_features_daily, gold/ip_features_daily,
gold/device_features_daily. Column meanings: README "Gold tables".
"""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING

from ato.spark.partials import AMOUNT_SCALE, HOUR_SCALE, exact_sum
from ato.tables import ENTITY_KEYS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

WINDOW_DAYS = 30  # column names say "_30d": the window is part of the contract, not a setting
DAY_S = 86_400.0


def with_as_of(partials: DataFrame, as_of_dates: list[date], window_days: int) -> DataFrame:
    """Each partial row once per as-of date whose window [D-(w-1), D] holds its event date."""
    from pyspark.sql import functions as F

    lo, hi = min(as_of_dates), max(as_of_dates)
    p = partials.where(F.col("event_date").between(F.date_sub(F.lit(lo), window_days - 1), F.lit(hi)))
    span = F.sequence("event_date", F.date_add("event_date", window_days - 1))
    wanted = F.array(*[F.lit(d) for d in sorted(as_of_dates)])
    return p.withColumn("as_of_date", F.explode(F.array_intersect(span, wanted)))


def _union(col: str) -> Column:
    """Sorted union of the per-day sorted arrays."""
    from pyspark.sql import functions as F

    return F.array_sort(F.array_distinct(F.flatten(F.collect_list(col))))


def _ratio(a: Column, b: Column) -> Column:
    from pyspark.sql import functions as F

    return F.when(b > 0, a / b)


def _end_of_day_s(col: str = "as_of_date") -> Column:
    """Epoch seconds at the end of the as-of date (the snapshot's point in time)."""
    from pyspark.sql import functions as F

    return F.unix_timestamp(F.date_add(col, 1).cast("timestamp")).cast("double")


def account_snapshot(partials: DataFrame, as_of_dates: list[date], window_days: int = WINDOW_DAYS) -> DataFrame:
    """gold/account_features_daily rows for the as-of dates."""
    from pyspark.sql import functions as F

    w = window_days
    g = with_as_of(partials, as_of_dates, w).groupBy("account_id", "as_of_date").agg(
        F.sum("logins").alias("logins"), F.sum("failed_logins").alias("failed"),
        F.sum("successful_logins").alias("ok"),
        F.size(_union("devices")).alias("distinct_devices"), F.size(_union("ips")).alias("distinct_ips"),
        F.size(_union("countries")).alias("distinct_countries"), F.size(_union("asns")).alias("distinct_asns"),
        F.sum(F.when(F.col("logins") > 0, 1).otherwise(0)).alias("days_active"),
        _union("ok_devices").alias("known_devices"), _union("ok_ips").alias("known_ips"),
        _union("ok_countries").alias("known_countries"), _union("ok_asns").alias("known_asns"),
        exact_sum("hour_sin", HOUR_SCALE).alias("hs"), exact_sum("hour_cos", HOUR_SCALE).alias("hc"),
        F.min("first_ok_login").alias("first_ok"), F.max("last_ok").alias("last_ok"),
        F.sum("sessions").alias("sessions"), F.sum("sessions_ended").alias("ended"),
        F.sum("session_s_sum").alias("ss"), F.sum("session_s_sq_sum").alias("ss2"), F.max("session_s_max").alias("smax"),
        F.sum("payments").alias("payments"), exact_sum("payment_amount_sum", AMOUNT_SCALE).alias("pay_sum"),
        F.max("payment_amount_max").alias("pay_max"), F.sum("failed_payments").alias("failed_payments"),
        F.max("last_failed_payment").alias("last_failed_payment"), F.sum("account_changes").alias("changes"),
    )
    n = F.col("ok").cast("double")
    mean_sin, mean_cos = F.col("hs") / n, F.col("hc") / n
    r = F.least(F.lit(1.0), F.sqrt(mean_sin**2 + mean_cos**2))
    sess_mean = _ratio(F.col("ss"), F.col("ended"))
    span_s = F.unix_micros(F.col("last_ok.time")) / 1e6 - F.unix_micros("first_ok") / 1e6
    return g.select(
        "account_id", "as_of_date",
        F.col("logins").alias(f"logins_{w}d"), F.col("failed").alias(f"failed_logins_{w}d"),
        F.col("ok").alias(f"successful_logins_{w}d"),
        _ratio(F.col("failed"), F.col("logins")).alias(f"failed_login_rate_{w}d"),
        F.col("distinct_devices").alias(f"distinct_devices_{w}d"), F.col("distinct_ips").alias(f"distinct_ips_{w}d"),
        F.col("distinct_countries").alias(f"distinct_countries_{w}d"),
        F.col("distinct_asns").alias(f"distinct_asns_{w}d"), F.col("days_active").alias(f"days_active_{w}d"),
        # Usual hours (UTC) of successful logins: circular mean and spread (ato.features.habits).
        F.when(n > 0, F.pmod(F.atan2(mean_sin, mean_cos) / (2 * math.pi) * 24, F.lit(24.0))).alias("hour_mean"),
        F.when(n > 0, F.sqrt(-2 * F.log(F.greatest(r, F.lit(1e-12)))) / (2 * math.pi) * 24).alias("hour_spread"),
        F.when(F.col("ok") > 1, span_s / (n - 1)).alias(f"mean_s_between_logins_{w}d"),
        F.col("sessions").alias(f"sessions_{w}d"), sess_mean.alias(f"session_mean_s_{w}d"),
        F.sqrt(F.greatest(F.lit(0.0), _ratio(F.col("ss2"), F.col("ended")) - sess_mean**2)).alias(f"session_std_s_{w}d"),
        F.col("smax").cast("double").alias(f"session_max_s_{w}d"),
        F.col("payments").alias(f"payments_{w}d"), _ratio(F.col("pay_sum"), F.col("payments")).alias(f"payment_amount_mean_{w}d"),
        F.col("pay_max").alias(f"payment_amount_max_{w}d"), F.col("failed_payments").alias(f"failed_payments_{w}d"),
        ((_end_of_day_s() - F.unix_micros("last_failed_payment") / 1e6) / DAY_S).alias("days_since_failed_payment"),
        F.col("changes").alias(f"account_changes_{w}d"),
        "known_devices", "known_ips", "known_countries", "known_asns",
        F.col("last_ok.time").alias("last_login_time"), (F.unix_micros(F.col("last_ok.time")) / 1e6).alias("last_login_s"),
        F.col("last_ok.lat").alias("last_login_lat"), F.col("last_ok.lon").alias("last_login_lon"),
        F.col("last_ok.country").alias("last_login_country"), F.col("last_ok.asn").alias("last_login_asn"),
    )


def entity_snapshot(partials: DataFrame, kind: str, as_of_dates: list[date], window_days: int = WINDOW_DAYS) -> DataFrame:
    """gold/ip_features_daily or gold/device_features_daily rows for the as-of dates.

    `first_seen` is the key's first appearance in all retained partials: the earliest
    partial of a key present in the window is never after the as-of date, so this stays
    point-in-time correct without reading raw history.
    """
    from pyspark.sql import functions as F

    key, w = ENTITY_KEYS[kind], window_days
    first = partials.groupBy(key).agg(F.min("first_seen").alias("first_seen"))
    g = with_as_of(partials, as_of_dates, w).groupBy(key, "as_of_date").agg(
        F.sum("attempts").alias("attempts"), F.sum("failures").alias("failures"),
        F.size(_union("accounts")).alias("accounts"), F.count("*").alias("days"), F.max("last_seen").alias("last_seen"),
    )
    return g.join(first, key, "left").select(
        key, "as_of_date",
        F.col("attempts").alias(f"attempts_{w}d"), F.col("failures").alias(f"failures_{w}d"),
        _ratio(F.col("failures"), F.col("attempts")).alias(f"failure_rate_{w}d"),
        F.col("accounts").alias(f"distinct_accounts_{w}d"), F.col("days").alias(f"days_active_{w}d"),
        "first_seen", "last_seen",
        ((_end_of_day_s() - F.unix_micros("first_seen") / 1e6) / DAY_S).alias("age_days"),
    )


def build_snapshots(partials: dict[str, DataFrame], as_of_dates: list[date],
                    window_days: int = WINDOW_DAYS) -> dict[str, DataFrame]:
    """The three snapshot tables for the as-of dates from the three partial tables."""
    return {
        "account": account_snapshot(partials["account"], as_of_dates, window_days),
        "ip": entity_snapshot(partials["ip"], "ip", as_of_dates, window_days),
        "device": entity_snapshot(partials["device"], "device", as_of_dates, window_days),
    }
