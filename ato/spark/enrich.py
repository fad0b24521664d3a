"""Enrichment in Spark: keyed HMAC, normalized IPs and their /24 or /64 networks, CIDR lookups (NumPy in a pandas UDF), user agents."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ato.enrich.useragent import parse_user_agent
from ato.privacy import hmac_pads, ip_prefix, key_fingerprint, normalize_ip

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import Column, DataFrame

IPV4_RE = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$"  # canonical only
UA_SCHEMA = ("user_agent string, ua_family string, ua_major int, os_family string, "
             "device_class string, is_automation_ua boolean")


PAD_COLUMNS = ("_hmac_ipad", "_hmac_opad")
KEY_ID_COLUMN = "_hmac_key_id"


def with_hmac_pads(df: DataFrame, key: bytes) -> DataFrame:
    """`df` with the key's HMAC pads (`ato.privacy.hmac_pads`) as two columns and its id
    (`key_fingerprint`) as a third, cross-joined from a broadcast one-row frame: they travel as
    data, so no plan (explain, the Spark UI, the event log's plan descriptions) shows anything
    derived from the key, as literals in the expression would."""
    from pyspark.sql import functions as F

    ipad, opad = hmac_pads(key)
    pads = df.sparkSession.createDataFrame([(bytearray(ipad), bytearray(opad), key_fingerprint(key))],
                                           f"{PAD_COLUMNS[0]} binary, {PAD_COLUMNS[1]} binary, {KEY_ID_COLUMN} string")
    return df.crossJoin(F.broadcast(pads))


def hmac_hex(col: Column | str, hex_chars: int) -> Column:
    """HMAC-SHA256(key, col) as hex, exactly as RFC 2104 with built-in functions, on a frame that
    carries the key's pads (`with_hmac_pads`)."""
    from pyspark.sql import functions as F

    c = F.col(col) if isinstance(col, str) else col
    inner = F.unhex(F.sha2(F.concat(F.col(PAD_COLUMNS[0]), F.encode(c, "UTF-8")), 256))
    return F.when(c.isNotNull(), F.substring(F.sha2(F.concat(F.col(PAD_COLUMNS[1]), inner), 256), 1, hex_chars))


def _normal_ips(ips: pd.Series) -> pd.DataFrame:
    """(normalized address, its /24 or /64 network) of each address, as `ato.privacy.normalize_ip`
    and `ip_prefix`; canonical dotted quads (nearly every row) take a vectorized path."""
    s = ips.astype("string")
    canonical = s.str.fullmatch(IPV4_RE).fillna(False).to_numpy(dtype=bool)
    ip = s.astype(object).where(pd.notna(s), None)
    prefix = pd.Series(None, index=s.index, dtype=object)
    prefix[canonical] = s[canonical].str.replace(r"\.[0-9]+$", ".0/24", regex=True).astype(object)
    for i in np.flatnonzero(~canonical & s.notna().to_numpy(dtype=bool)):
        ip.iat[i] = normalize_ip(s.iat[i])
        prefix.iat[i] = ip_prefix(ip.iat[i])
    return pd.DataFrame({"ip": ip, "prefix": prefix})


def with_normal_ip(df: DataFrame, col: str = "ip", prefix_col: str | None = None) -> DataFrame:
    """`col` normalized (`ato.privacy.normalize_ip`: one text per address) and, with `prefix_col`,
    its /24 (IPv4) or /64 (IPv6) network, as serving computes them for a request."""
    from pyspark.sql import functions as F

    udf = F.pandas_udf(_normal_ips, "ip string, prefix string")  # type: ignore[call-overload]
    df = df.withColumn("_nip", udf(F.col(col)))
    if prefix_col:
        df = df.withColumn(prefix_col, F.col("_nip.prefix"))
    return df.withColumn(col, F.col("_nip.ip")).drop("_nip")


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
