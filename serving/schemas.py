"""Request and response models of the API (they make the OpenAPI schema). Enumerations and ranges
come from the logins contract (`ato.contracts`), so the API accepts what ingest accepts."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ato.contracts import CHANNELS, FEEDBACK_LABELS, LABEL_SOURCES, OUTCOMES, contract
from ato.features.actions import ACTION_KINDS
from ato.model.actions import ACTIONS
from ato.privacy import normalize_ip

_LOGIN = contract("logins")
FUTURE_SLACK = timedelta(days=1)


def as_utc(v: datetime | None) -> datetime | None:
    """An aware UTC time (naive taken as UTC); ValueError (so a 422) when the offset pushes it past the
    calendar, e.g. 9999-12-31T23:59:59-23:59."""
    if v is None:
        return None
    try:
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    except OverflowError:
        raise ValueError("time out of range once converted to UTC") from None


def check_event_time(v: datetime | None) -> datetime | None:
    """A login's event time in UTC; ValueError when it is far in the future or before 2000."""
    v = as_utc(v)
    if v is None:
        return None
    if v > datetime.now(UTC) + FUTURE_SLACK:
        raise ValueError("event_time is more than a day in the future")
    if v.year < 2000:
        raise ValueError("event_time is before the year 2000")
    return v


def check_ip(v: str) -> str:
    """An IPv4 or IPv6 address as text, in any spelling `ato.privacy.normalize_ip` reads (leading
    zeros, brackets, a zone id, IPv4-mapped IPv6); ValueError (a 422) otherwise."""
    try:
        ipaddress.ip_address(normalize_ip(v) or "")
    except ValueError:
        raise ValueError("not an IPv4 or IPv6 address") from None
    return v


EventTime = Annotated[datetime | None, AfterValidator(check_event_time)]  # score and action requests alike
IpText = Annotated[str, AfterValidator(check_ip)]


def _utf8(v: Any) -> Any:
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("not valid UTF-8 text") from None
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return _utf8(v)


class ScoreRequest(_Strict):
    """One login attempt, as the login backend sees it after checking the password."""

    account_id: str = Field(min_length=1, max_length=128, description="The platform's account id.")
    ip: IpText = Field(min_length=2, max_length=64, description="Client IP (IPv4 or IPv6); pseudonymized on arrival.",
                       json_schema_extra={"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})
    user_agent: str = Field(max_length=2048, description="Raw User-Agent header (may be empty).")
    device_id: str | None = Field(None, max_length=256, description="Device fingerprint or app install id.")
    channel: Literal[CHANNELS] = Field(description="Where the login came from.")  # type: ignore[valid-type]
    outcome: Literal[OUTCOMES] = Field(description="Result of the password check.")  # type: ignore[valid-type]
    event_time: EventTime = Field(None, description="When the attempt happened (RFC 3339); default: now. "
                                                     "A time without offset is taken as UTC.")
    event_id: str | None = Field(None, max_length=128, description="The attempt's id in the login backend "
                                                                   "(default: the decision id).")
    country: str | None = Field(None, max_length=64, description="Country code, when the edge knows it.")
    city: str | None = Field(None, max_length=128)
    latitude: float | None = Field(None, ge=_LOGIN.field("latitude").min, le=_LOGIN.field("latitude").max)
    longitude: float | None = Field(None, ge=_LOGIN.field("longitude").min, le=_LOGIN.field("longitude").max)
    asn: int | None = Field(None, ge=0, le=int(_LOGIN.field("asn").max or 0))
    session_id: str | None = Field(None, max_length=128)
    explain: bool = Field(False, description="Also return the feature vector the decision used.")


class ScoreResponse(BaseModel):
    decision_id: str
    event_id: str
    risk_score: float = Field(description="Probability of takeover (model) or rule score, 0..1.")
    action: Literal[ACTIONS] = Field(description="What the login backend should do.")  # type: ignore[valid-type]
    reasons: list[str] = Field(description="Why, most important first (empty for allow).")
    model_version: str = Field(description="Champion version, '<version>/fallback', or 'rules'.")
    fallback_level: int = Field(ge=0, le=3, description="0 model, 1 fallback model, 2 rules, 3 shed to rules.")
    latency_ms: float
    snapshot_as_of: str | None = Field(None, description="Nightly snapshot the features came from.")
    features: dict[str, Any] | None = Field(None, description="With explain=true: the feature vector.")


MAX_BATCH = 1000


class EventsRequest(_Strict):
    """Events known to the platform, fed to the speed layer (logins) and to the nightly ingest
    (all). Records follow the stream contracts (`ato.contracts`, README "Event contracts"); a
    batch is all or nothing: one bad record and the answer is a 422 naming it (`logins[1]: ...`)."""

    logins: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BATCH)
    payments: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BATCH)
    account_changes: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BATCH)


class EventsResponse(BaseModel):
    accepted: dict[str, int] = Field(description="Records accepted per stream (all of them: a batch is all or nothing).")
    speed_layer: str = Field(description="'ok', or 'unavailable (<error>)' when the online store could not take the "
                                         "logins (the batch still reached the spool).")


class FeedbackRequest(_Strict):
    """A confirmed outcome for a decision: a takeover, or a false positive (legit)."""

    account_id: str = Field(min_length=1, max_length=128)
    event_id: str | None = Field(None, max_length=128, description="The scored attempt's event_id.")
    label: Literal[FEEDBACK_LABELS] = Field(description="ato: confirmed takeover; legit: false positive.")  # type: ignore[valid-type]
    source: Literal[LABEL_SOURCES] = Field("analyst", description="Who confirmed it.")  # type: ignore[valid-type]
    reported_at: datetime | None = Field(None, description="Default: now.")
    attack_started_at: datetime | None = None

    @field_validator("reported_at", "attack_started_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return as_utc(v)


class FeedbackResponse(BaseModel):
    accepted: int
    stream: str = "labels"


class ActionScoreRequest(_Strict):
    """One sensitive action about to happen: a payment, or an account change of the contract's types."""

    event_id: str = Field(min_length=1, max_length=128, description="The action's id (payment or change id).")
    account_id: str = Field(min_length=1, max_length=128)
    kind: Literal[ACTION_KINDS] = Field(description="'payment' or the account change's type.")  # type: ignore[valid-type]
    event_time: EventTime = Field(None, description="When it happens (RFC 3339); default: now.")
    amount: float | None = Field(None, ge=0, le=1e9, description="Payments: the amount.")
    currency: str | None = Field(None, max_length=8)
    payee_id: str | None = Field(None, max_length=128)
    payment_method_id: str | None = Field(None, max_length=128)
    device_id: str | None = Field(None, max_length=256, description="Pseudonymized on arrival.")
    ip: IpText | None = Field(None, min_length=2, max_length=64, description="Pseudonymized on arrival.")
    explain: bool = Field(False, description="Also return the feature vector.")


class ActionScoreResponse(BaseModel):
    decision_id: str
    event_id: str
    risk_score: float | None = Field(description="The action model's score (null without an action model).")
    action: Literal[ACTIONS] = Field(description="What the platform should do before letting it through.")  # type: ignore[valid-type]
    reasons: list[str]
    model_version: str | None
    snapshot_as_of: str | None = Field(None, description="Nightly snapshot the account's history came from.")
    features: dict[str, Any] | None = Field(None, description="With explain=true: the feature vector.")
