"""The compiled validator of `/v1/score` (`serving.fast_score`) is a strict subset of `ScoreRequest`:
what it accepts, pydantic accepts with the same values; what it leaves, the FastAPI route answers, so
a client sees exactly the route's 422 messages and the route's lax conversions. The validator is generated
from the pydantic model (`serving.mirror`): a field added there is in it, a validated field without a
stand-in is checked by pydantic, a model that cannot be mirrored leaves every body to the route."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import msgspec
import pytest
from pydantic import Field, ValidationError, field_validator, model_validator

import serving.app
from ato.online.decide.models import Models
from ato.settings import Settings
from serving.fast_score import MIRROR, decode_score, score_handler
from serving.mirror import mirror
from serving.schemas import ScoreRequest
from tests.api.builders import build_app, serve
from tests.builders import make_score_request

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

NOW = make_score_request(event_time=None, device_id=None)  # server time jumps to now: sent last
ACCEPTED = [
    make_score_request(),
    make_score_request(event_time="2026-08-06T14:00:00.123456+02:00", latitude=40, longitude=-74.25, asn=7922,
                       country="US", city="New York", session_id="s-1", event_id="e-1", explain=True),
    make_score_request(event_time="2026-08-06T12:00:00", ip="2001:db8::1", user_agent="", channel="api"),
    make_score_request(account_id="ü" * 128, city="東京"),
    NOW,
]
# bodies the fast path must leave to the route: invalid ones and lax ones pydantic converts
LEFT = [
    {"ip": "20.0.1.7"}, make_score_request(ip="not-an-ip"), make_score_request(channel="fax"),
    make_score_request(latitude=123.0), make_score_request(event_time="2999-01-01T00:00:00Z"),
    make_score_request(acount_id="typo"), make_score_request(asn=-1), make_score_request(account_id=""),
    make_score_request(account_id="a" * 129), make_score_request(event_time="1999-12-31T23:59:59Z"),
    make_score_request(event_time="9999-12-31T23:59:59-23:59"), make_score_request(event_time="yesterday"),
    make_score_request(event_time=1786017600), make_score_request(explain="true"), make_score_request(asn="7922"),
    make_score_request(latitude="40.5"), make_score_request(asn=7922.0), make_score_request(device_id=5),
    make_score_request(account_id="bad \ud800 text"), [make_score_request()], "text",
]


def _body(b: Any) -> bytes:
    return json.dumps(b).encode()


@pytest.mark.parametrize("body", ACCEPTED)
def test_what_the_fast_path_accepts_pydantic_accepts_with_the_same_values(body: dict[str, Any]) -> None:
    want = ScoreRequest.model_validate(body).model_dump()
    got = decode_score(_body(body))
    assert got == want and list(got) == list(want)
    assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


@pytest.mark.parametrize("body", LEFT)
def test_invalid_or_lax_bodies_are_left_to_the_route(body: Any) -> None:
    assert decode_score(_body(body)) is None


def test_malformed_json_is_left_to_the_route() -> None:
    for raw in (b"{not json", b"", b'{"account_id": NaN}', b"\xff\xfe"):
        assert decode_score(raw) is None
    with pytest.raises(ValidationError):
        ScoreRequest.model_validate(make_score_request(ip="not-an-ip"))


async def _answers(app: Any, requests: list[tuple[bytes, str]]) -> list[tuple[int, Any]]:
    out = []
    async with serve(app) as c:
        for content, ctype in requests:
            r = await c.post("/v1/score", content=content, headers={"Content-Type": ctype})
            body = r.json()
            if r.status_code == 200:  # ids and timings differ from call to call
                body = {k: v for k, v in body.items() if k not in ("decision_id", "event_id", "latency_ms")}
            out.append((r.status_code, body))
    return out


async def test_the_service_answers_exactly_as_the_route_alone(settings: Settings, models: Models,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    requests = [(_body(b), "application/json") for b in ACCEPTED + LEFT if b is not NOW]
    requests += [(b"{not json", "application/json"), (b"account_id=a", "text/plain"),
                 (_body(make_score_request()), "application/json; charset=utf-8"), (_body(NOW), "application/json")]
    handled: list[bool] = []

    def counted(rt: Any) -> Any:
        inner = score_handler(rt)

        async def handle(*args: Any) -> bool:
            handled.append(await inner(*args))
            return handled[-1]

        return handle

    monkeypatch.setattr(serving.app, "score_handler", counted)
    fast = await _answers(build_app(settings, models), requests)
    assert sum(handled) == len(ACCEPTED), "every well-formed body took the fast path, nothing else did"

    async def never(*_: Any) -> bool:
        return False

    monkeypatch.setattr(serving.app, "score_handler", lambda rt: never)
    route = await _answers(build_app(settings, models), requests)
    assert [s for s, _ in fast] == [s for s, _ in route]
    assert sum(s == 422 for s, _ in fast) >= 15 and sum(s == 200 for s, _ in fast) >= 9
    for (s, a), (_, b) in zip(fast, route, strict=True):
        if s == 422:
            assert a == b, "the same 422 message and details"
        else:
            assert a.keys() == b.keys() and a["model_version"] == b["model_version"]


class Wider(ScoreRequest):
    """ScoreRequest with fields added: plain, validated (no stand-in) and of a type msgspec cannot express."""

    referrer: str | None = Field(None, min_length=2, max_length=16)
    tier: int = Field(1, ge=1, le=3)
    nickname: str | None = None
    birthday: date | None = None

    @field_validator("nickname")
    @classmethod
    def _nick(cls, v: str | None) -> str | None:
        if v == "root":
            raise ValueError("reserved")
        return v


def test_the_struct_has_the_models_fields_in_order_and_a_field_added_there_appears() -> None:
    assert MIRROR.fields == tuple(ScoreRequest.model_fields) == MIRROR.struct.__struct_fields__  # type: ignore[union-attr]
    assert set(MIRROR.checked) == {"ip", "event_time"}, "the fields with validators or a type msgspec lacks"
    wide = mirror(Wider, trusted=frozenset({"_text"}))
    assert wide.struct is not None and wide.fields == (*ScoreRequest.model_fields, "referrer", "tier", "nickname",
                                                       "birthday")
    types = {f.name: f for f in msgspec.structs.fields(wide.struct)}
    assert types["tier"].default == 1 and types["referrer"].default is None and types["account_id"].required
    assert set(wide.checked) == {"ip", "event_time", "nickname", "birthday"}
    decode = wide.decoder()
    for body in (make_score_request(), make_score_request(referrer="news", tier=3, nickname="ana",
                                                          birthday="1990-02-03")):
        want = Wider.model_validate(body).model_dump()
        got = decode(_body(body))
        assert got == want and list(got) == list(want)
    for bad in ({"referrer": "x"}, {"referrer": "y" * 17}, {"tier": 4}, {"tier": "2"}, {"nickname": "root"},
                {"birthday": "someday"}, {"birthday": 19900203}, {"extra": 1}):
        assert decode(_body(make_score_request(**bad))) is None, bad
    assert Wider.model_validate(make_score_request(tier="2")).tier == 2, "lax inputs too go to the route"


def test_a_model_that_cannot_be_mirrored_leaves_every_body_to_the_route() -> None:
    class Checked(ScoreRequest):
        @model_validator(mode="after")
        def _whole(self) -> Checked:
            return self

    m = mirror(Checked, trusted=frozenset({"_text"}))
    assert (m.struct, m.why_not) == (None, "model validators") and m.decoder()(_body(make_score_request())) is None
    assert mirror(ScoreRequest).why_not == "a validator of every field", "_text is not trusted unless said"
