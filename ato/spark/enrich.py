"""Enrichment in Spark: keyed HMAC, normalized IPs and their /24 or /64 networks, CIDR lookups (NumPy in a pandas UDF), user agents."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class CidrRef:
    """A small reference table of networks (its `network` column) for CIDR lookups: `take` maps an
    output column to its Spark type, read from the same-named `ref` column; with `as_of` (a `ref`
    column), only networks known at the row's time count, latest first. `ref` is shipped to the
    workers, so a lookup is a NumPy search per batch of rows, with no shuffle."""

    ref: pd.DataFrame
    take: dict[str, str]
    as_of: str | None = None

    def lookup_fn(self) -> Callable[[np.ndarray, np.ndarray | None], pd.DataFrame]:
        """(IPv4 integers, row times in epoch seconds) -> the `take` columns of each row."""
        from ato.enrich.cidr import CidrIndex

        index = CidrIndex.build(self.ref["network"], _epoch_s(self.ref[self.as_of]) if self.as_of else None)
        payload = self.ref[list(self.take)].reset_index(drop=True)
        take, timed = list(self.take), self.as_of is not None

        def look(ip: np.ndarray, t_s: np.ndarray | None) -> pd.DataFrame:
            if payload.empty:
                return pd.DataFrame({k: [None] * len(ip) for k in take})
            rows = index.lookup(ip, t_s if timed else None)
            out = payload.iloc[np.maximum(rows, 0)].reset_index(drop=True).astype(object)
            out[rows < 0] = None
            return out

        return look


def _epoch_s(t: pd.Series) -> np.ndarray:
    return pd.to_datetime(t, utc=True).astype("int64").to_numpy() // 10**9


def _with_ip_udf(df: DataFrame, col: str, time_col: str | None, schema: str,
                 fn: Callable[[pd.Series, np.ndarray | None], pd.DataFrame], out: dict[str, str]) -> DataFrame:
    """`df` with the struct `fn(ips, times)` returns, its fields as columns (`out`: field -> column)."""
    from pyspark.sql import functions as F

    def call(ip: pd.Series, t: pd.Series) -> pd.DataFrame:
        return fn(ip, _epoch_s(t) if time_col else None)

    udf = F.pandas_udf(call, schema)  # type: ignore[call-overload]
    tcol = F.col(time_col) if time_col else F.lit(None).cast("timestamp")
    df = df.withColumn("_ipx", udf(F.col(col), tcol))
    kept = [F.col(f"_ipx.{k}").alias(v) for k, v in out.items() if v != col]
    if col in out.values():
        df = df.withColumn(col, F.col(f"_ipx.{next(k for k, v in out.items() if v == col)}"))
    return df.select("*", *kept).drop("_ipx")


def with_normal_ip(df: DataFrame, col: str = "ip", prefix_col: str | None = None,
                   lookups: Sequence[CidrRef] = (), time_col: str | None = None) -> DataFrame:
    """`col` normalized (`ato.privacy.normalize_ip`: one text per address), with `prefix_col` its /24
    (IPv4) or /64 (IPv6) network, as serving computes them for a request, and the `lookups`' columns
    for the normalized address at `time_col`: one pass of Python per batch of rows for all of them."""
    from ato.enrich.cidr import ipv4_to_int

    fns = [r.lookup_fn() for r in lookups]
    take = {k: v for r in lookups for k, v in r.take.items()}

    def enrich(ips: pd.Series, t_s: np.ndarray | None) -> pd.DataFrame:
        out = _normal_ips(ips).reset_index(drop=True)
        if not fns:
            return out
        ints = ipv4_to_int(out["ip"])
        return pd.concat([out, *[f(ints, t_s) for f in fns]], axis=1)

    schema = ", ".join(["ip string", "prefix string", *[f"{k} {v}" for k, v in take.items()]])
    out = {"ip": col, **({"prefix": prefix_col} if prefix_col else {}), **{k: k for k in take}}
    return _with_ip_udf(df, col, time_col, schema, enrich, out)


def cidr_lookup(df: DataFrame, ip_col: str, ref: pd.DataFrame, take: dict[str, str],
                time_col: str | None = None, ref_time_col: str | None = None) -> DataFrame:
    """Add `take` (output name -> Spark type, read from the same-named `ref` column) from the
    most specific network of `ref` holding each row's IP, as it is (see `CidrRef`)."""
    from ato.enrich.cidr import ipv4_to_int

    look = CidrRef(ref, take, ref_time_col).lookup_fn()
    schema = ", ".join(f"{k} {v}" for k, v in take.items())
    return _with_ip_udf(df, ip_col, time_col, schema, lambda ip, t: look(ipv4_to_int(ip), t), {k: k for k in take})


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
