"""Turn the simulator's columns into contract-format event files in a spool folder.

Formats are mixed on purpose, as in a real spool fed by several producers:
logins and account changes as JSON Lines, payments and labels as CSV, sessions
as Parquet, the reputation feed as one CSV. One file per stream and UTC day.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ato.contracts import arrow_schema

FORMATS = {
    "logins": "jsonl",
    "account_changes": "jsonl",
    "payments": "csv",
    "labels": "csv",
    "sessions": "parquet",
    "ip_reputation": "csv",
    "accounts": "jsonl",
}


def rfc3339(ms: np.ndarray | pd.Series) -> np.ndarray:
    """Epoch milliseconds (NaN/None = null) -> RFC 3339 UTC strings ('2026-08-01T10:00:00.123Z')."""
    s = pd.Series(ms, dtype="Float64")
    out = np.full(len(s), None, dtype=object)
    ok = s.notna().to_numpy()
    vals = s[ok].to_numpy(dtype=np.int64).astype("datetime64[ms]")
    out[ok] = np.char.add(np.datetime_as_string(vals, unit="ms"), "Z")
    return out


def _day_of(ms: pd.Series) -> np.ndarray:
    return pd.to_datetime(ms, unit="ms").dt.strftime("%Y-%m-%d").to_numpy()


# What real producers get wrong now and then: (field, bad value) per stream.
CORRUPTIONS: dict[str, tuple[tuple[str, object], ...]] = {
    "logins": (("event_time", "2026-08-01 25:61:00"), ("outcome", "captcha_failed"),
               ("account_id", None), ("latitude", "n/a")),
    "payments": (("amount", "12,50"), ("status", "pending"), ("event_time", "yesterday"),
                 ("account_id", None)),
}


def inject_malformed(df: pd.DataFrame, stream: str, share: float, rng: np.random.Generator) -> tuple[pd.DataFrame, int]:
    """Spoil a small share of rows the way buggy producers do; ingest must quarantine exactly these."""
    kinds = CORRUPTIONS.get(stream, ())
    if not kinds or share <= 0 or df.empty:
        return df, 0
    idx = np.flatnonzero(rng.random(len(df)) < share)
    df = df.astype({f: object for f, _ in kinds})
    for i, k in zip(idx, rng.integers(0, len(kinds), len(idx)), strict=True):
        field, value = kinds[int(k)]
        df.iat[int(i), df.columns.get_loc(field)] = value
    return df, len(idx)


def write_stream(df: pd.DataFrame, stream: str, out: Path, day_ms: pd.Series,
                 fmt: str | None = None) -> list[Path]:
    """Write one stream as one file per UTC day of `day_ms`; returns the files written."""
    fmt = fmt or FORMATS[stream]
    folder = out / stream
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    days = _day_of(day_ms)
    for day in np.unique(days):
        part = df[days == day]
        path = folder / f"{day}.{fmt}"
        write_file(part, stream, path, fmt)
        written.append(path)
    return written


def write_file(df: pd.DataFrame, stream: str, path: Path, fmt: str) -> None:
    """Write rows whose timestamps are already RFC 3339 strings in the given format."""
    if fmt == "jsonl":
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    elif fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "parquet":
        schema = arrow_schema(stream)
        typed = {}
        for f in schema:
            col = df[f.name]
            if pa.types.is_timestamp(f.type):
                col = pd.to_datetime(col, utc=True)
            typed[f.name] = pa.array(col, type=f.type, from_pandas=True)
        pq.write_table(pa.table(typed, schema=schema), path)
    else:
        raise ValueError(f"unknown format {fmt!r}")
