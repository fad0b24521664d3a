from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ato.contracts import CONTRACTS, arrow_schema, contract, record_model
from ato.validate import check_row
from tests.builders import make_login

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("stream", sorted(CONTRACTS))
def test_shapes_derive_from_one_definition(stream: str) -> None:
    c = contract(stream)
    assert arrow_schema(stream).names == list(c.field_names)
    assert list(record_model(stream).model_fields) == list(c.field_names)
    for f in arrow_schema(stream):
        assert f.nullable == (not c.field(f.name).required)


def test_unknown_stream_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="unknown stream 'clicks'"):
        contract("clicks")


def test_record_model_types_and_keeps_extra() -> None:
    m = record_model("logins").model_validate(make_login(tenant="eu"))
    assert m.event_time == datetime(2026, 8, 1, 10, tzinfo=UTC)  # type: ignore[attr-defined]
    assert m.model_extra == {"tenant": "eu"}
    with pytest.raises(ValidationError):
        record_model("logins").model_validate(make_login(outcome="maybe"))


def test_check_row_accepts_a_good_row_and_keeps_unknown_fields() -> None:
    r = check_row("logins", make_login(tenant="eu", asn="20001"))
    assert r.ok, r.reasons
    assert r.values["asn"] == 20001 and r.extra == {"tenant": "eu"}


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"event_time": "2026-13-01T00:00:00Z"}, "invalid timestamp: event_time"),
        ({"event_time": "yesterday"}, "invalid timestamp: event_time"),
        ({"event_time": "2026-08-01T10:00:00"}, "invalid timestamp: event_time"),  # no offset
        ({"outcome": "maybe"}, "unknown value: outcome"),
        ({"account_id": None}, "missing required field: account_id"),
        ({"account_id": ""}, "missing required field: account_id"),
        ({"latitude": "north"}, "invalid number: latitude"),
        ({"latitude": 91}, "out of range: latitude"),
        ({"asn": 12.5}, "invalid integer: asn"),
        ({"channel": "fax"}, "unknown value: channel"),
    ],
)
def test_check_row_reasons(over: dict[str, object], reason: str) -> None:
    assert check_row("logins", make_login(**over)).reasons == [reason]


def test_optional_fields_may_be_missing() -> None:
    row = make_login()
    for k in ("device_id", "country", "city", "latitude", "longitude", "asn", "session_id"):
        row.pop(k)
    assert check_row("logins", row).ok


def test_cidr_is_checked() -> None:
    assert check_row("ip_reputation", {"network": "10.0.0.0/33", "category": "tor", "score": "0.5",
                                       "as_of": "2026-01-01T00:00:00Z"}).reasons == ["invalid CIDR: network"]
