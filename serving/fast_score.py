"""The hot path of `POST /v1/score`: a well-formed body is decoded by a compiled msgspec validator and
answered without FastAPI's routing, dependency solving and pydantic pass (`answer` is the route's own).

The validator is a strict subset of `ScoreRequest`: what it accepts, pydantic accepts with the same
values (tests hold the two equal). Anything else (a bad field, a lax input such as `"explain": "true"`,
another content type) goes on to the FastAPI route, so every 422 message is exactly the route's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from pydantic import TypeAdapter

from ato.contracts import CHANNELS, OUTCOMES, contract
from serving.routes.score import answer
from serving.runtime import Runtime
from serving.schemas import check_event_time

_LOGIN = contract("logins")
_LAT, _LON = _LOGIN.field("latitude"), _LOGIN.field("longitude")


Text1to128 = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Text2to64 = Annotated[str, msgspec.Meta(min_length=2, max_length=64)]
Text64 = Annotated[str, msgspec.Meta(max_length=64)]
Text128 = Annotated[str, msgspec.Meta(max_length=128)]
Text256 = Annotated[str, msgspec.Meta(max_length=256)]
Text2048 = Annotated[str, msgspec.Meta(max_length=2048)]
Latitude = Annotated[float, msgspec.Meta(ge=_LAT.min, le=_LAT.max)]
Longitude = Annotated[float, msgspec.Meta(ge=_LON.min, le=_LON.max)]
Asn = Annotated[int, msgspec.Meta(ge=0, le=int(_LOGIN.field("asn").max or 0))]


class ScoreBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`serving.schemas.ScoreRequest`, field for field and in its order, without lax conversions."""

    account_id: Text1to128
    ip: Text2to64
    user_agent: Text2048
    device_id: Text256 | None = None
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]
    event_time: str | None = None  # parsed by pydantic's own datetime validator (`decode_score`)
    event_id: Text128 | None = None
    country: Text64 | None = None
    city: Text128 | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    asn: Asn | None = None
    session_id: Text128 | None = None
    explain: bool = False


_decode = msgspec.json.Decoder(ScoreBody).decode
_datetime = TypeAdapter(datetime)
_FIELDS = ScoreBody.__struct_fields__


_VALID_IPS: set[str] = set()  # addresses `ipaddress` accepted already (bounded below)


def _check_ip(ip: str) -> None:
    if ip not in _VALID_IPS:
        ipaddress.ip_address(ip)  # ValueError: the route's validator names it
        if len(_VALID_IPS) > 100_000:
            _VALID_IPS.clear()
        _VALID_IPS.add(ip)


def decode_score(body: bytes) -> dict[str, Any] | None:
    """The attempt as `ScoreRequest.model_dump()` would give it, or None: let the route decide."""
    try:
        s = _decode(body)
        _check_ip(s.ip)
        when = None if s.event_time is None else check_event_time(_datetime.validate_python(s.event_time))
    except (msgspec.DecodeError, ValueError):  # pydantic's ValidationError is a ValueError
        return None
    attempt = {f: getattr(s, f) for f in _FIELDS}
    attempt["event_time"] = when
    return attempt


Send = Callable[[dict[str, Any]], Awaitable[None]]
JSON = (b"content-type", b"application/json")


def score_handler(rt: Runtime) -> Callable[[dict[str, Any], bytes, str | None, Send], Awaitable[bool]]:
    """The middleware's hook for `/v1/score`: answers and returns True, or returns False (the route answers)."""

    async def handle(scope: dict[str, Any], body: bytes, key: str | None, send: Send) -> bool:
        ctype = next((v for k, v in scope["headers"] if k == b"content-type"), None)
        if ctype not in (None, b"application/json"):  # FastAPI reads other types its own way
            return False
        attempt = decode_score(body)
        if attempt is None:
            return False
        status, data = await answer(rt, attempt, key)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", str(len(data)).encode()), JSON]})
        await send({"type": "http.response.body", "body": data})
        return True

    return handle
