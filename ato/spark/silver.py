"""Silver tables: bronze deduplicated by key, typed, enriched, identifiers pseudonymized.

Rebuilt per event date from bronze (replaceWhere on the date), so a re-run of a
date gives the same rows. Raw IPs (normalized first), device ids, payee and payment-method ids never
reach silver: each becomes a keyed hash (`<name>_hash`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ato.contracts import contract
from ato.settings import Settings
from ato.spark import lake
from ato.spark.enrich import (
    KEY_ID_COLUMN,
    PAD_COLUMNS,
    CidrRef,
    hmac_hex,
    with_hmac_pads,
    with_normal_ip,
    with_user_agent,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def _dedup(df: DataFrame, key: tuple[str, ...]) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(*key).orderBy("_ingested_at", "_source_file", "_row_id")
    return df.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn")


def _pseudonymize(df: DataFrame, settings: Settings, cols: list[str]) -> DataFrame:
    """`cols` replaced by their keyed hashes (`<col without _id>_hash`), and `key_id`: the id of the
    key that made them (`ato.privacy.key_fingerprint`), so a rotation knows which rows to re-hash."""
    n = settings.privacy.hash_hex_chars
    df = with_hmac_pads(df, settings.hmac_key_bytes())
    for c in cols:
        df = df.withColumn(f"{c.removesuffix('_id')}_hash", hmac_hex(c, n))
    return df.withColumnRenamed(KEY_ID_COLUMN, "key_id").drop(*cols, *PAD_COLUMNS)


def _geo_db(spark: SparkSession, settings: Settings) -> pd.DataFrame | None:
    path = settings.enrich.geo_db
    if "://" not in path and not Path(path).exists():
        return None
    schema = "network string, country string, city string, latitude double, longitude double, asn long"
    return spark.read.option("header", True).schema(schema).csv(path).toPandas()


GEO_COLS = {"country": "string", "city": "string", "latitude": "double", "longitude": "double", "asn": "bigint"}


def _logins(spark: SparkSession, settings: Settings, df: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    geo = _geo_db(spark, settings)
    rep_path = settings.table_path("silver", "ip_reputation")
    rep = pd.DataFrame({"network": [], "ip_rep_category": [], "ip_rep_score": [], "as_of": []})
    if lake.exists(spark, rep_path):
        rep = (lake.read(spark, rep_path).select("network", F.col("category").alias("ip_rep_category"),
                                                 F.col("score").alias("ip_rep_score"), "as_of").toPandas())
    lookups = [CidrRef(rep, {"ip_rep_category": "string", "ip_rep_score": "double"}, "as_of")]
    if geo is not None:
        geo = geo.rename(columns={c: f"g_{c}" for c in GEO_COLS})
        lookups.append(CidrRef(geo, {f"g_{c}": t for c, t in GEO_COLS.items()}))
    # One Python pass per batch of rows: the address normalized, its network, reputation (point in time), geo.
    df = with_normal_ip(df, "ip", "ip_prefix", lookups, "event_time")
    has_geo = F.col("country").isNotNull() & F.col("asn").isNotNull()
    if geo is not None:
        df = df.withColumn("geo_source", F.when(has_geo, "event").when(F.col("g_country").isNotNull(), "lookup"))
        for c in GEO_COLS:
            df = df.withColumn(c, F.when(has_geo, F.col(c)).otherwise(F.coalesce(c, f"g_{c}"))).drop(f"g_{c}")
    else:
        df = df.withColumn("geo_source", F.when(has_geo, "event"))
    df = with_user_agent(df).drop("user_agent")  # parsed is enough
    ids = contract("logins").pseudonymized  # ip first, then its network's, as silver's columns have always been
    return _pseudonymize(df, settings, [ids[0], "ip_prefix", *ids[1:]])


def _accounts(settings: Settings, df: DataFrame) -> DataFrame:
    """Profiles with no raw PII: keyed hashes, keyed 3-gram hashes, the email domain and the postal
    prefix (`ato.rings.profile.pseudonymous_profiles`, the same code the JVM-free ring finder runs)."""
    from pyspark.sql import functions as F

    from ato.rings.profile import PROFILE_DDL, pseudonymous_profiles

    key_id, key = next(iter(settings.hmac_keys().items()))
    n = settings.privacy.hash_hex_chars
    kept = ["created_at", "country", "event_date"]

    def hashed(batches: Iterable[pd.DataFrame]) -> Iterable[pd.DataFrame]:
        for b in batches:
            yield pseudonymous_profiles(b, key, n).assign(**{c: b[c].to_numpy() for c in kept})

    raw = list(contract("accounts").field_names)
    schema = f"{PROFILE_DDL}, created_at timestamp, country string, event_date date"
    return (df.select(*raw, "event_date").mapInPandas(hashed, schema)
            .withColumn("key_id", F.lit(key_id)).withColumn("extra", F.create_map().cast("map<string,string>")))


def transform(spark: SparkSession, settings: Settings, stream: str, bronze: DataFrame) -> DataFrame:
    """Bronze rows of one stream -> silver rows (pure transform, no I/O but reference reads)."""
    from pyspark.sql import functions as F

    c = contract(stream)
    df = _dedup(bronze, c.key)
    if stream == "logins":
        df = _logins(spark, settings, df)
    elif stream == "accounts":
        df = _accounts(settings, df)
    elif c.pseudonymized:
        df = _pseudonymize(with_normal_ip(df) if "ip" in c.field_names else df, settings, list(c.pseudonymized))
    elif stream == "sessions":
        df = df.withColumn("duration_s", F.unix_timestamp("ended_at") - F.unix_timestamp("started_at"))
    elif stream == "labels":
        df = df.withColumn("label_id", F.sha2(F.concat_ws("\u0001", *[F.coalesce(F.col(k).cast("string"), F.lit("")) for k in c.key]), 256))
    keep = settings.privacy.silver_extra_keys.get(stream, [])  # the unknown fields silver may keep
    df = df.withColumn("extra", F.map_filter("extra", lambda k, _: k.isin(*keep) if keep else F.lit(False)))
    return df.drop("_source_file", "_row_id", "_ingested_at")


def build_silver(spark: SparkSession, settings: Settings, stream: str, dates: list[date]) -> None:
    """Rebuild silver for the given event dates of one stream from bronze."""
    from pyspark.sql import functions as F

    if not dates:
        return
    pred = lake.in_dates("event_date", dates)
    bronze = lake.read(spark, settings.table_path("bronze", stream)).where(pred)
    out = transform(spark, settings, stream, bronze)
    lake.replace_where(out.repartition("event_date").sortWithinPartitions(F.col(contract(stream).time_field)),
                       settings.table_path("silver", stream), pred, ["event_date"], merge_schema=True)
