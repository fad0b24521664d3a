"""The hot path of `POST /v1/score`: a well-formed body is decoded by a compiled msgspec validator and
answered without FastAPI's routing, dependency solving and pydantic pass (`answer` is the route's own).

The validator is generated from `ScoreRequest` (`serving.mirror`: no second field list) and is a
strict subset of it: what it accepts, pydantic accepts with the same values (tests hold the two
equal). Anything else (a bad field, a lax input such as `"explain": "true"`, another content type)
goes on to the FastAPI route, so every 422 message is exactly the route's. Two fields have faster
stand-ins for their pydantic validators (`_ip`, `_event_time`); a validated field without one is
checked by pydantic's own validator.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from serving.mirror import mirror
from serving.routes.score import answer
from serving.runtime import Runtime
from serving.schemas import ScoreRequest, check_event_time

_datetime = TypeAdapter(datetime)
_VALID_IPS: set[str] = set()  # addresses `ipaddress` accepted already (bounded below)


def _ip(ip: str) -> str:
    """Stands in for `ScoreRequest._ip` (msgspec has checked the type and length)."""
    if ip not in _VALID_IPS:
        ipaddress.ip_address(ip)  # ValueError: the route's validator names it
        if len(_VALID_IPS) > 100_000:
            _VALID_IPS.clear()
        _VALID_IPS.add(ip)
    return ip


def _event_time(v: str | None) -> datetime | None:
    """Stands in for the datetime field and `ScoreRequest._time`: pydantic's own datetime parser on a
    JSON string (other JSON types go to the route), then the same bounds."""
    return None if v is None else check_event_time(_datetime.validate_python(v))


# `_text` (valid UTF-8) holds for whatever msgspec decodes: a lone surrogate escape is a DecodeError.
MIRROR = mirror(ScoreRequest, trusted=frozenset({"_text"}), stand_ins={"ip": _ip, "event_time": _event_time})
# the attempt as `ScoreRequest.model_dump()` would give it, or None: let the route decide
decode_score = MIRROR.decoder()


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
