"""Row validation against a stream contract, in plain Python.

The same rules run in Spark for ingest (`ato.spark.validate` compiles them to
column expressions from the same patterns below); a parity test holds the two
together. Reasons are short and stable ("invalid timestamp: event_time") so
quarantine counts group by reason; the raw value stays in the quarantined row.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ato.contracts import FieldSpec, contract

TIMESTAMP_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
DOUBLE_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$"
LONG_RE = r"^[+-]?\d{1,18}$"
CIDR_RE = (
    r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"/(3[0-2]|[12]?\d)$"
)
_PATTERNS = {
    "timestamp": re.compile(TIMESTAMP_RE),
    "double": re.compile(DOUBLE_RE),
    "long": re.compile(LONG_RE),
    "cidr": re.compile(CIDR_RE),
}
KIND_WORD = {"timestamp": "timestamp", "double": "number", "long": "integer", "cidr": "CIDR"}


def reason_missing(name: str) -> str:
    return f"missing required field: {name}"


def reason_invalid(spec: FieldSpec) -> str:
    return f"invalid {KIND_WORD[spec.kind]}: {spec.name}"


def reason_unknown_value(name: str) -> str:
    return f"unknown value: {name}"


def reason_out_of_range(name: str) -> str:
    return f"out of range: {name}"


REASON_MALFORMED = "malformed record"


@dataclass
class Checked:
    """Result of validating one raw row: typed values, unknown fields, and reasons (empty = ok)."""

    values: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


def as_text(v: Any) -> str | None:
    """Raw value as the text the contract parses; '' and None are null."""
    if v is None:
        return None
    if isinstance(v, bool):
        v = str(v).lower()
    s = v if isinstance(v, str) else str(v)
    return s if s != "" else None


def parse_timestamp(s: str) -> datetime | None:
    """RFC 3339 (offset required) -> aware UTC datetime, None when unparsable."""
    if not _PATTERNS["timestamp"].match(s):
        return None
    try:
        return datetime.fromisoformat(s).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset that pushes it past year 1..9999
        return None


def _parse(spec: FieldSpec, s: str) -> Any:
    if spec.kind == "string":
        return s
    if spec.kind == "timestamp":
        return parse_timestamp(s)
    if not _PATTERNS[spec.kind].match(s):
        return None
    if spec.kind == "double":
        x = float(s)
        return x if math.isfinite(x) else None
    if spec.kind == "long":
        return int(s)
    return s  # cidr


def check_row(stream: str, raw: dict[str, Any]) -> Checked:
    """Validate one raw row (field -> value as received) against the stream's contract."""
    c = contract(stream)
    out = Checked()
    for k, v in raw.items():
        if k not in c.field_names and (t := as_text(v)) is not None:
            out.extra[k] = t
    for spec in c.fields:
        s = as_text(raw.get(spec.name))
        if s is None:
            if spec.required:
                out.reasons.append(reason_missing(spec.name))
            out.values[spec.name] = None
            continue
        val = _parse(spec, s)
        if val is None:
            out.reasons.append(reason_invalid(spec))
        elif spec.values and val not in spec.values:
            out.reasons.append(reason_unknown_value(spec.name))
        elif (spec.min is not None and val < spec.min) or (spec.max is not None and val > spec.max):
            out.reasons.append(reason_out_of_range(spec.name))
        out.values[spec.name] = val
    return out
