"""Test-data builders: contract rows with sensible defaults, and spool file writers."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

_n = 0


def _next() -> int:
    global _n
    _n += 1
    return _n


def make_login(**over: Any) -> dict[str, Any]:
    """A valid login event; override any field (None removes nothing, it sets null)."""
    i = _next()
    row: dict[str, Any] = {
        "event_id": f"lg_test_{i:06d}",
        "event_time": "2026-08-01T10:00:00Z",
        "account_id": "acct_0000001",
        "outcome": "success",
        "ip": "20.0.1.10",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.6613.120 Safari/537.36",
        "device_id": "dev-1",
        "country": "US",
        "city": "New York",
        "latitude": 40.7,
        "longitude": -74.0,
        "asn": 20001,
        "channel": "web",
        "session_id": f"ss_{i}",
    }
    row.update(over)
    return row


def make_score_request(**over: Any) -> dict[str, Any]:
    """A valid /v1/score body: a successful web login from a desktop browser at a fixed time."""
    body: dict[str, Any] = {
        "account_id": "acct_0000001", "ip": "20.0.1.7", "user_agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0",
        "device_id": "dev-test-1", "channel": "web", "outcome": "success", "event_time": "2026-08-06T12:00:00+00:00",
    }
    body.update(over)
    return body


def make_payment(**over: Any) -> dict[str, Any]:
    i = _next()
    row: dict[str, Any] = {
        "event_id": f"py_test_{i:06d}", "event_time": "2026-08-01T10:05:00Z", "account_id": "acct_0000001",
        "amount": 42.5, "currency": "USD", "status": "succeeded", "payee_id": "payee_1",
        "payment_method_id": "pm_1", "device_id": "dev-1", "ip": "20.0.1.10",
    }
    row.update(over)
    return row


def make_reputation(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"network": "20.101.0.0/16", "category": "hosting", "score": 0.4,
                           "as_of": "2026-07-01T00:00:00Z"}
    row.update(over)
    return row


def write_jsonl(path: Path, rows: list[dict[str, Any]], extra_lines: list[str] = ()) -> Path:  # type: ignore[assignment]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        for line in extra_lines:
            f.write(line + "\n")
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if r.get(k) is None else r[k] for k in cols})
    return path


def make_session(**over: Any) -> dict[str, Any]:
    i = _next()
    row: dict[str, Any] = {"session_id": f"ss_test_{i:06d}", "account_id": "acct_0000001",
                           "started_at": "2026-08-01T10:00:00Z", "ended_at": "2026-08-01T10:20:00Z"}
    row.update(over)
    return row


def make_account_change(**over: Any) -> dict[str, Any]:
    i = _next()
    row: dict[str, Any] = {"event_id": f"ch_test_{i:06d}", "event_time": "2026-08-01T10:10:00Z",
                           "account_id": "acct_0000001", "change_type": "email_change", "ip": "20.0.1.10",
                           "device_id": "dev-1"}
    row.update(over)
    return row


def make_label(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"account_id": "acct_0000001", "login_event_id": None, "label": "ato",
                           "source": "customer_report", "reported_at": "2026-08-03T09:00:00Z",
                           "attack_started_at": None}
    row.update(over)
    return row


# --- Spark frames: a few typed rows in the shape a transform reads (tests/spark) ----------------

def ts(text: str) -> datetime:
    """'2026-08-01T06:00' (UTC unless an offset is given) -> an aware datetime."""
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def frame(spark: Any, schema: str, rows: list[dict[str, Any]]) -> Any:
    """A DataFrame of `rows` (dicts) under a DDL `schema`; a key the schema lacks is an error."""
    from pyspark.sql.types import StructType

    st = StructType.fromDDL(schema)
    assert isinstance(st, StructType)
    names = st.fieldNames()
    for r in rows:
        unknown = set(r) - set(names)
        if unknown:
            raise KeyError(f"not in the schema: {sorted(unknown)}")
    return spark.createDataFrame([tuple(r.get(n) for n in names) for r in rows], st)


def _dated(row: dict[str, Any], time_field: str, over: dict[str, Any]) -> dict[str, Any]:
    row.update(over)
    if isinstance(row[time_field], str):
        row[time_field] = ts(row[time_field])
    row.setdefault("event_date", row[time_field].date())
    return row


SILVER_LOGINS = ("event_id string, account_id string, event_time timestamp, outcome string, ip_hash string, "
                 "device_hash string, country string, asn bigint, latitude double, longitude double, event_date date")
SILVER_SESSIONS = ("session_id string, account_id string, started_at timestamp, ended_at timestamp, "
                   "duration_s bigint, event_date date")
SILVER_PAYMENTS = ("event_id string, account_id string, event_time timestamp, amount double, status string, "
                   "event_date date")
SILVER_CHANGES = "event_id string, account_id string, event_time timestamp, change_type string, event_date date"


def silver_login(**over: Any) -> dict[str, Any]:
    """A silver login with the columns the partials read; `event_time` may be 'YYYY-MM-DDTHH:MM'."""
    i = _next()
    row = {"event_id": f"lg_{i:06d}", "account_id": "A", "event_time": "2026-08-01T10:00", "outcome": "success",
           "ip_hash": "i1", "device_hash": "d1", "country": "US", "asn": 100, "latitude": 40.0, "longitude": -74.0}
    return _dated(row, "event_time", over)


def silver_session(**over: Any) -> dict[str, Any]:
    i = _next()
    row = {"session_id": f"ss_{i:06d}", "account_id": "A", "started_at": "2026-08-01T10:00", "ended_at": None,
           "duration_s": None}
    return _dated(row, "started_at", over)


def silver_payment(**over: Any) -> dict[str, Any]:
    i = _next()
    row = {"event_id": f"py_{i:06d}", "account_id": "A", "event_time": "2026-08-01T10:00", "amount": 10.0,
           "status": "succeeded"}
    return _dated(row, "event_time", over)


def silver_change(**over: Any) -> dict[str, Any]:
    i = _next()
    row = {"event_id": f"ch_{i:06d}", "account_id": "A", "event_time": "2026-08-01T10:00",
           "change_type": "email_change"}
    return _dated(row, "event_time", over)


ACCOUNT_PARTIALS = (
    "account_id string, event_date date, logins bigint, failed_logins bigint, successful_logins bigint, "
    "devices array<string>, ips array<string>, countries array<string>, asns array<bigint>, "
    "ok_devices array<string>, ok_ips array<string>, ok_countries array<string>, ok_asns array<bigint>, "
    "hour_sin double, hour_cos double, first_ok_login timestamp, "
    "last_ok struct<time: timestamp, lat: double, lon: double, country: string, asn: bigint>, "
    "sessions bigint, session_s_sum double, session_s_sq_sum double, sessions_ended bigint, session_s_max bigint, "
    "payments bigint, payment_amount_sum double, payment_amount_max double, failed_payments bigint, "
    "last_failed_payment timestamp, account_changes bigint")
ENTITY_PARTIALS = ("{key} string, event_date date, attempts bigint, failures bigint, accounts array<string>, "
                   "first_seen timestamp, last_seen timestamp")


def account_partial(**over: Any) -> dict[str, Any]:
    """A gold/account_activity_daily row: a day with no activity unless overridden."""
    row: dict[str, Any] = {
        "account_id": "A", "event_date": date(2026, 8, 1), "logins": 0, "failed_logins": 0, "successful_logins": 0,
        "devices": [], "ips": [], "countries": [], "asns": [], "ok_devices": [], "ok_ips": [], "ok_countries": [],
        "ok_asns": [], "hour_sin": 0.0, "hour_cos": 0.0, "first_ok_login": None, "last_ok": None,
        "sessions": 0, "session_s_sum": 0.0, "session_s_sq_sum": 0.0, "sessions_ended": 0, "session_s_max": None,
        "payments": 0, "payment_amount_sum": 0.0, "payment_amount_max": None, "failed_payments": 0,
        "last_failed_payment": None, "account_changes": 0,
    }
    row.update(over)
    return row


def entity_partial(key: str = "ip_hash", **over: Any) -> dict[str, Any]:
    """A gold/ip_activity_daily (or device) row."""
    row: dict[str, Any] = {key: "i1", "event_date": date(2026, 8, 1), "attempts": 1, "failures": 0,
                           "accounts": ["A"], "first_seen": ts("2026-08-01T10:00"), "last_seen": ts("2026-08-01T10:00")}
    row.update(over)
    return row


BRONZE_COLUMNS = ("extra map<string,string>, event_date date, _source_file string, _row_id string, "
                  "_ingest_id string, _ingested_at timestamp")
_CAST: dict[str, Callable[[Any], Any]] = {"timestamp": lambda v: v if isinstance(v, datetime) else ts(v), "long": int, "double": float, "string": str, "cidr": str}


def _day(t: Any) -> date:
    """The UTC date of a typed time field (contract time fields are required)."""
    assert isinstance(t, datetime), f"time field missing: {t!r}"
    return t.date()


def bronze_frame(spark: Any, stream: str, rows: list[dict[str, Any]]) -> Any:
    """Bronze rows of a stream from contract records (as `make_login` & co. make them): fields
    typed, event_date from the time field, bookkeeping columns defaulted unless a row sets them."""
    from ato.contracts import contract, spark_schema

    c = contract(stream)
    typed = []
    for i, r in enumerate(rows):
        t = {f.name: None if r.get(f.name) is None else _CAST[f.kind](r[f.name]) for f in c.fields}
        typed.append({**t, "extra": r.get("extra", {}), "event_date": _day(t[c.time_field]),
                      "_source_file": r.get("_source_file", "spool/part-1.jsonl"), "_row_id": r.get("_row_id", f"r{i}"),
                      "_ingest_id": r.get("_ingest_id", "ing_test"),
                      "_ingested_at": r.get("_ingested_at", ts("2026-08-02T00:00"))})
    ddl = ", ".join(f"{f.name} {f.dataType.simpleString()}" for f in spark_schema(stream).fields)
    return frame(spark, f"{ddl}, {BRONZE_COLUMNS}", typed)


def write_audit(folder: Path, day: str, host: str, n: int) -> Path:
    """`n` allow decisions of `day` in a closed audit file of `host`, as the API writes them."""
    f = folder / day / f"decisions-{host}.jsonl"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text("".join(json.dumps({
        "decision_id": f"{host}-{i}", "event_id": f"ev-{host}-{i}", "decided_at": f"{day}T10:00:{i % 60:02d}+00:00",
        "account_id": f"acct_{i}", "action": "allow", "risk_score": 0.01, "reasons": [], "fallback_level": 0}) + "\n"
        for i in range(n)))
    return f
