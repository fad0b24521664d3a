"""Test-data builders: contract rows with sensible defaults, and spool file writers."""

from __future__ import annotations

import csv
import json
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
