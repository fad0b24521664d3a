"""gold/training_set: one row per login attempt with exactly the features serving would have
computed at that moment, plus the label known once the row matured (ato.spark.labels).

- snapshot features: gold/*_features_daily of the day before the login (what serving loads);
- speed-layer windows: ato.features.speed over each key's logins, strictly before the login;
- request-time features: ato.features.request replaying each account's day on its snapshot.
Both feature families run the serving code as is, through `applyInPandas`.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING

from ato.features.columns import (
    ACCOUNT_FEATURES,
    CATEGORICAL_FEATURES,
    ENTITY_FEATURES,
    FEATURES,
    ID_COLUMNS,
    LABEL_COLUMNS,
)
from ato.features.request import HISTORY_COLUMNS, REQUEST_FEATURES, partition_request_features
from ato.features.speed import SPEED_KEYS, partition_speed_features, speed_feature_names
from ato.spark.lake import in_dates
from ato.tables import ENTITY_KEYS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

def speed_features(logins: DataFrame, login_dates: list[date]) -> DataFrame:
    """event_id + window features for logins of `login_dates`; `logins` must also hold the day before."""
    from pyspark.sql import functions as F

    base = logins.select(
        "event_id", *set(SPEED_KEYS.values()), F.unix_micros("event_time").alias("t_us"),
        (F.col("outcome") != "success").cast("int").alias("failed"),
        F.expr(in_dates("event_date", login_dates)).alias("is_query"),
    )
    parts = logins.sparkSession.conf.get("spark.sql.shuffle.partitions")
    out = base.where("is_query").select("event_id")
    for key, col in SPEED_KEYS.items():
        schema = "event_id string, " + ", ".join(f"{n} int" for n in speed_feature_names(key))
        part = (base.where(F.col(col).isNotNull())
                .select(F.col(col).alias("key"), "event_id", "t_us", "failed", "account_id", "is_query")
                .repartition(int(parts or 8), "key")
                .mapInPandas(partial(partition_speed_features, key), schema))
        out = out.join(part, "event_id", "left")
    return out


def request_time_features(logins: DataFrame, account_snap: DataFrame, login_dates: list[date]) -> DataFrame:
    """event_id + request-time features, each account-day replayed on the snapshot of the day before."""
    from pyspark.sql import functions as F

    hist = account_snap.select("account_id", F.date_add("as_of_date", 1).alias("login_date"), *HISTORY_COLUMNS)
    q = logins.where(in_dates("event_date", login_dates)).select(
        "event_id", "account_id", F.col("event_date").alias("login_date"), (F.unix_micros("event_time") / 1e6).alias("t"),
        "outcome", "device_hash", "ip_hash", "country", "asn", "latitude", "longitude",
    ).join(hist, ["account_id", "login_date"], "left")
    schema = "event_id string, " + ", ".join(f"{n} double" for n in REQUEST_FEATURES)
    return q.repartition("account_id").mapInPandas(partition_request_features, schema)  # type: ignore[arg-type]


def training_rows(logins: DataFrame, snapshots: dict[str, DataFrame], labels: DataFrame, login_dates: list[date],
                  maturity_days: int, weights: dict[str, float]) -> DataFrame:
    """Training rows for logins of `login_dates`.

    `logins`: silver logins covering the login dates and the day before each;
    `snapshots`: gold snapshot frames (account/ip/device) covering the days before.
    """
    from pyspark.sql import functions as F

    from ato.spark.labels import login_labels

    q = logins.where(in_dates("event_date", login_dates)).withColumn("login_date", F.col("event_date"))
    prev = F.date_sub("login_date", 1)
    acct = snapshots["account"].select("account_id", F.col("as_of_date").alias("_as_of"), *ACCOUNT_FEATURES)
    rows = q.join(acct, (q.account_id == acct.account_id) & (acct._as_of == prev), "left").drop(acct.account_id).drop("_as_of")
    for kind in ("ip", "device"):
        key = ENTITY_KEYS[kind]
        s = snapshots[kind].select(F.col(key).alias("_k"), F.col("as_of_date").alias("_as_of"),
                                   *[F.col(c).alias(f"{kind}_{c}") for c in ENTITY_FEATURES])
        rows = rows.join(s, (rows[key] == s._k) & (s._as_of == prev), "left").drop("_k", "_as_of")
    rows = (rows.join(speed_features(logins, login_dates), "event_id", "left")
            .join(request_time_features(logins, snapshots["account"], login_dates), "event_id", "left")
            .join(login_labels(q, labels, maturity_days, weights), "event_id", "left"))
    rows = rows.withColumn("is_automation_ua", F.col("is_automation_ua").cast("int"))
    for c in CATEGORICAL_FEATURES:
        rows = rows.withColumn(c, F.coalesce(F.col(c), F.lit("unknown")))
    return rows.select(*ID_COLUMNS, *FEATURES, *LABEL_COLUMNS)


def context_dates(login_dates: list[date]) -> list[date]:
    """The silver dates a training job reads: the login dates and the day before each."""
    return sorted({d for ld in login_dates for d in (ld, ld - timedelta(days=1))})
