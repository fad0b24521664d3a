"""Enrichment in Spark: keyed HMAC, /24 prefixes, CIDR lookups (NumPy in a pandas UDF), user agents."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ato.enrich.useragent import parse_user_agent
from ato.privacy import hmac_pads

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import Column, DataFrame

IPV4_RE = r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$"
UA_SCHEMA = ("user_agent string, ua_family string, ua_major int, os_family string, "
             "device_class string, is_automation_ua boolean")


PAD_COLUMNS = ("_hmac_ipad", "_hmac_opad")


def with_hmac_pads(df: DataFrame, key: bytes) -> DataFrame:
    """`df` with the key's HMAC pads (`ato.privacy.hmac_pads`) as two columns, cross-joined from a
    broadcast one-row frame: the pads travel as data, so no plan (explain, the Spark UI, the event
    log's plan descriptions) shows key material, as literals in the expression would."""
    from pyspark.sql import functions as F

    ipad, opad = hmac_pads(key)
    pads = df.sparkSession.createDataFrame([(bytearray(ipad), bytearray(opad))],
                                           f"{PAD_COLUMNS[0]} binary, {PAD_COLUMNS[1]} binary")
    return df.crossJoin(F.broadcast(pads))


def hmac_hex(col: Column | str, hex_chars: int) -> Column:
    """HMAC-SHA256(key, col) as hex, exactly as RFC 2104 with built-in functions, on a frame that
    carries the key's pads (`with_hmac_pads`)."""
    from pyspark.sql import functions as F

    c = F.col(col) if isinstance(col, str) else col
    inner = F.unhex(F.sha2(F.concat(F.col(PAD_COLUMNS[0]), F.encode(c, "UTF-8")), 256))
    return F.when(c.isNotNull(), F.substring(F.sha2(F.concat(F.col(PAD_COLUMNS[1]), inner), 256), 1, hex_chars))


def ipv4_prefix24(col: str) -> Column:
    """'203.0.113.7' -> '203.0.113.0/24' (as `ato.privacy.ipv4_prefix24`)."""
    from pyspark.sql import functions as F

    return F.when(F.col(col).rlike(IPV4_RE), F.concat(F.regexp_extract(col, r"^(\d+\.\d+\.\d+)\.", 1), F.lit(".0/24")))


def cidr_lookup(df: DataFrame, ip_col: str, ref: pd.DataFrame, take: dict[str, str],
                time_col: str | None = None, ref_time_col: str | None = None) -> DataFrame:
    """Add `take` (output name -> Spark type, read from the same-named `ref` column) from the
    most specific network of `ref` holding each row's IP; with time columns, only networks
    known at the row's time count (latest first). `ref` is small and shipped to the workers,
    so the lookup is a NumPy search per batch of rows, with no shuffle."""
    from pyspark.sql import functions as F

    from ato.enrich.cidr import CidrIndex, ipv4_to_int

    as_of = None
    if ref_time_col:
        as_of = pd.to_datetime(ref[ref_time_col], utc=True).astype("int64").to_numpy() // 10**9
    index = CidrIndex.build(ref["network"], as_of)
    payload = ref[list(take)].reset_index(drop=True)
    schema = ", ".join(f"{k} {v}" for k, v in take.items())

    def look(ip: pd.Series, t: pd.Series) -> pd.DataFrame:
        t_s = pd.to_datetime(t, utc=True).astype("int64").to_numpy() // 10**9 if ref_time_col else None
        rows = index.lookup(ipv4_to_int(ip), t_s)
        if payload.empty:
            return pd.DataFrame({k: [None] * len(ip) for k in take})
        out = payload.iloc[np.maximum(rows, 0)].reset_index(drop=True).astype(object)
        out[rows < 0] = None
        return out

    udf = F.pandas_udf(look, schema)  # type: ignore[call-overload]
    tcol = F.col(time_col) if time_col else F.lit(None).cast("timestamp")
    return df.withColumn("_cidr", udf(F.col(ip_col), tcol)).select("*", *[F.col(f"_cidr.{k}").alias(k) for k in take]).drop("_cidr")


def _parse_uas(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for b in batches:
        parsed = [parse_user_agent(u) for u in b["user_agent"]]
        yield pd.DataFrame({
            "user_agent": b["user_agent"],
            "ua_family": [p.family for p in parsed],
            "ua_major": pd.array([p.major for p in parsed], dtype="Int32"),
            "os_family": [p.os for p in parsed],
            "device_class": [p.device_class for p in parsed],
            "is_automation_ua": [p.is_automation for p in parsed],
        })


def with_user_agent(df: DataFrame) -> DataFrame:
    """Add parsed user-agent columns; each distinct user agent is parsed once."""
    from pyspark.sql import functions as F

    parsed = df.select("user_agent").distinct().mapInPandas(_parse_uas, UA_SCHEMA)  # type: ignore[arg-type]
    return df.join(F.broadcast(parsed), "user_agent", "left")
