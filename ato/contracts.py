"""The seven input streams, defined once.

Every other shape derives from these definitions: the Spark schema
(:func:`spark_schema`), the Arrow schema (:func:`arrow_schema`), the pydantic
record model (:func:`record_model`) and the row validators used by ingest
(Spark, `ato/spark/validate.py`) and serving (:mod:`ato.validate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, create_model

if TYPE_CHECKING:
    from pyspark.sql.types import StructType

Kind = Literal["string", "timestamp", "double", "long", "cidr"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a stream: its type, whether it is required, allowed values and range."""

    name: str
    kind: Kind = "string"
    required: bool = True
    values: tuple[str, ...] = ()  # non-empty: an enumeration
    min: float | None = None
    max: float | None = None
    pseudonymize: bool = False  # an identifier HMAC-ed on the way to silver (profile fields: hashes and shingles)


@dataclass(frozen=True)
class StreamContract:
    """A named event stream: fields, the key that deduplicates it and its event time."""

    name: str
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]
    time_field: str
    doc: str = ""
    field_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_names", tuple(f.name for f in self.fields))

    def field(self, name: str) -> FieldSpec:
        """The spec of one field by name."""
        return next(f for f in self.fields if f.name == name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def pseudonymized(self) -> tuple[str, ...]:
        """The identifiers silver keeps only as keyed hashes (`<name without _id>_hash`)."""
        return tuple(f.name for f in self.fields if f.pseudonymize)


def _f(name: str, kind: Kind = "string", **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, **kw)


def _opt(name: str, kind: Kind = "string", **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, required=False, **kw)


OUTCOMES = ("success", "bad_password", "bad_mfa", "unknown_account", "locked")
CHANNELS = ("web", "ios", "android", "api")
PAYMENT_STATUSES = ("succeeded", "failed", "declined", "refunded", "chargeback")
CHANGE_TYPES = ("password_reset", "email_change", "phone_change", "mfa_reset", "payout_method_added")
LABELS = ("ato", "legit", "fraud")
FEEDBACK_LABELS = ("ato", "legit")  # what the API's feedback takes; `fraud` comes from analysts' ring cases
LABEL_SOURCES = ("chargeback", "customer_report", "analyst", "step_up_passed")
REPUTATION_CATEGORIES = ("tor", "hosting", "proxy", "botnet")

CONTRACTS: dict[str, StreamContract] = {
    c.name: c
    for c in (
        StreamContract(
            "logins",
            (
                _f("event_id"),
                _f("event_time", "timestamp"),
                _f("account_id"),
                _f("outcome", values=OUTCOMES),
                _f("ip", pseudonymize=True),
                _f("user_agent"),
                _opt("device_id", pseudonymize=True),
                _opt("country"),
                _opt("city"),
                _opt("latitude", "double", min=-90, max=90),
                _opt("longitude", "double", min=-180, max=180),
                _opt("asn", "long", min=0, max=4294967295),
                _f("channel", values=CHANNELS),
                _opt("session_id"),
            ),
            key=("event_id",),
            time_field="event_time",
            doc="Every login attempt, successful or not.",
        ),
        StreamContract(
            "sessions",
            (
                _f("session_id"),
                _f("account_id"),
                _f("started_at", "timestamp"),
                _opt("ended_at", "timestamp"),
            ),
            key=("session_id",),
            time_field="started_at",
            doc="Sessions opened by successful logins.",
        ),
        StreamContract(
            "payments",
            (
                _f("event_id"),
                _f("event_time", "timestamp"),
                _f("account_id"),
                _f("amount", "double", min=0, max=1e9),
                _f("currency"),
                _f("status", values=PAYMENT_STATUSES),
                _f("payee_id", pseudonymize=True),
                _f("payment_method_id", pseudonymize=True),
                _opt("device_id", pseudonymize=True),
                _opt("ip", pseudonymize=True),
            ),
            key=("event_id",),
            time_field="event_time",
            doc="Payments made from an account.",
        ),
        StreamContract(
            "account_changes",
            (
                _f("event_id"),
                _f("event_time", "timestamp"),
                _f("account_id"),
                _f("change_type", values=CHANGE_TYPES),
                _opt("ip", pseudonymize=True),
                _opt("device_id", pseudonymize=True),
            ),
            key=("event_id",),
            time_field="event_time",
            doc="Security-relevant changes to an account.",
        ),
        StreamContract(
            "labels",
            (
                _f("account_id"),
                _opt("login_event_id"),
                _f("label", values=LABELS),
                _f("source", values=LABEL_SOURCES),
                _f("reported_at", "timestamp"),
                _opt("attack_started_at", "timestamp"),
                _opt("case_id"),
            ),
            key=("account_id", "login_event_id", "label", "source", "reported_at"),
            time_field="reported_at",
            doc="Late, noisy ground truth: confirmed takeovers and confirmed legit logins; `fraud` with a "
                "`case_id`: an account an analyst's investigation put in a fraud ring.",
        ),
        StreamContract(
            "accounts",
            (
                _f("account_id"),
                _f("event_time", "timestamp"),
                _opt("created_at", "timestamp"),
                _opt("email", pseudonymize=True),
                _opt("phone", pseudonymize=True),
                _opt("full_name", pseudonymize=True),
                _opt("address", pseudonymize=True),
                _opt("postal_code"),
                _opt("country"),
                _opt("bank_account", pseudonymize=True),
                _opt("business_name", pseudonymize=True),
                _opt("signup_ip", pseudonymize=True),
                _opt("signup_device_id", pseudonymize=True),
            ),
            key=("account_id", "event_time"),
            time_field="event_time",
            doc="Account profiles: one row per account creation or profile change (raw PII: bronze only; "
                "silver keeps keyed hashes, keyed 3-gram hashes, the email domain and the postal prefix).",
        ),
        StreamContract(
            "ip_reputation",
            (
                _f("network", "cidr"),
                _f("category", values=REPUTATION_CATEGORIES),
                _f("score", "double", min=0, max=1),
                _f("as_of", "timestamp"),
            ),
            key=("network", "as_of"),
            time_field="as_of",
            doc="IP reputation feed: networks known as tor/hosting/proxy/botnet.",
        ),
    )
}


def contract(stream: str) -> StreamContract:
    """The contract of a stream; an unknown stream is a clear KeyError."""
    try:
        return CONTRACTS[stream]
    except KeyError:
        raise KeyError(
            f"unknown stream {stream!r}; known streams: {', '.join(sorted(CONTRACTS))}"
        ) from None


_ARROW = {
    "string": pa.string(),
    "cidr": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "double": pa.float64(),
    "long": pa.int64(),
}
_PY: dict[str, type] = {
    "string": str,
    "cidr": str,
    "timestamp": datetime,
    "double": float,
    "long": int,
}


def arrow_schema(stream: str) -> pa.Schema:
    """Arrow schema of a stream's typed contract fields."""
    c = contract(stream)
    return pa.schema([pa.field(f.name, _ARROW[f.kind], nullable=not f.required) for f in c.fields])


def spark_schema(stream: str) -> StructType:
    """Spark schema of a stream's typed contract fields."""
    from pyspark.sql import types as T

    kinds = {
        "string": T.StringType(),
        "cidr": T.StringType(),
        "timestamp": T.TimestampType(),
        "double": T.DoubleType(),
        "long": T.LongType(),
    }
    c = contract(stream)
    return T.StructType([T.StructField(f.name, kinds[f.kind], not f.required) for f in c.fields])


@cache
def record_model(stream: str) -> type[BaseModel]:
    """A pydantic model of one record of the stream; unknown fields are kept (`extra`)."""
    c = contract(stream)
    defs: dict[str, Any] = {}
    for f in c.fields:
        typ: Any = _PY[f.kind]
        if f.values:
            typ = Literal[f.values]
        defs[f.name] = (typ, ...) if f.required else (typ | None, None)
    model: type[BaseModel] = create_model(
        f"{''.join(p.title() for p in stream.split('_'))}Record",
        __config__=ConfigDict(extra="allow"),
        **defs,
    )
    return model
