"""API-key authentication and scopes, body limits and the in-flight count: one pure ASGI middleware
(cheaper than FastAPI dependencies on the hot path), plus the matching OpenAPI security scheme.

Per request to /v1 (and to /metrics when it needs the admin scope): a key (X-API-Key, or
`Authorization: Bearer <key>` for scrapers) matched against the key ring (`ato.online.keys`: digests,
constant time) or 401; the route's scope or 403; a body over the route's limit or 413, before any
parsing. Only authenticated /v1 requests count as in flight (the load that makes the chain shed).
The key's name goes to `scope["state"]["api_key"]` for the audit and the spool; keys are never logged.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request

from serving.metrics import Metrics
from serving.runtime import Runtime

API_KEY_SCHEME = "ApiKey"
SECURED: dict[str, Any] = {"security": [{API_KEY_SCHEME: []}]}
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid X-API-Key"}, 403: {"description": "The key lacks this route's scope"},
    413: {"description": "Request body too large"}}
UNAUTHORIZED_BODY = json.dumps({"message": "missing or invalid API key (X-API-Key header)"}).encode()
# The scope each route needs; another /v1 path needs a valid key (then 404s).
ROUTE_SCOPES: dict[str, str] = {"/v1/score": "score", "/v1/actions/score": "score", "/v1/events": "events", "/v1/feedback": "feedback",
                                "/v1/model": "admin", "/metrics": "admin"}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def key_name(request: Request) -> str | None:
    """The name of the key that authenticated this request (None on routes without a key)."""
    state = request.scope.get("state")
    return state.get("api_key") if isinstance(state, dict) else None


def _counted(send: Any, metrics: Metrics, route: str) -> Any:
    """`send` that counts the response it starts (ato_http_responses_total)."""

    async def counting(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            metrics.responded(route, msg["status"])
        await send(msg)

    return counting


async def _answer(send: Any, status: int, body: dict[str, Any], extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": data})


class ApiKeyAuth:
    """Keys, scopes, body limits and the in-flight count (see the module docstring)."""

    def __init__(self, app: Callable[..., Awaitable[None]], rt: Runtime, fast: dict[str, FastRoute] | None = None) -> None:
        self.app, self.rt = app, rt
        self.fast = fast or {}  # path -> a hook that may answer a POST before FastAPI (`serving.fast_score`)
        api = rt.settings.api
        self.metrics_keyed = api.metrics == "admin_scope"
        self.limits = {"/v1/events": api.max_events_body_bytes}
        self.default_limit = api.max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        v1 = path.startswith("/v1/")
        if scope["type"] != "http" or not (v1 or (path == "/metrics" and self.metrics_keyed)):
            await self.app(scope, receive, send)
            return
        if v1:
            send = _counted(send, self.rt.metrics, path if path in ROUTE_SCOPES else "other")
        key = self.rt.keyring.match(_presented(scope["headers"]))
        if key is None:
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"ApiKey"),
                                    (b"content-length", str(len(UNAUTHORIZED_BODY)).encode())]})
            await send({"type": "http.response.body", "body": UNAUTHORIZED_BODY})
            return
        need = ROUTE_SCOPES.get(path)
        if need is not None and not key.allows(need):
            await _answer(send, 403, {"message": f"API key {key.name!r} lacks the {need!r} scope that {path} needs"})
            return
        scope.setdefault("state", {})["api_key"] = key.name
        fast = self.fast.get(path) if scope.get("method") == "POST" else None
        if scope.get("method") in BODY_METHODS:
            receive = await self._limited(scope, receive, send, self.limits.get(path, self.default_limit))
            if receive is None:
                return
        if not v1:
            await self.app(scope, receive, send)
            return
        self.rt.in_flight += 1
        try:
            if fast is not None:
                body = await _whole_body(receive)
                if body is None or await fast(scope, body, key.name, send):
                    return  # client gone, or answered
                receive = _replay(body, receive)
            await self.app(scope, receive, send)
        finally:
            self.rt.in_flight -= 1

    @staticmethod
    async def _limited(scope: dict[str, Any], receive: Any, send: Any, limit: int) -> Any:
        """`receive` for a body within `limit`; None once a 413 went out. A declared length is checked
        before anything is read; a body without one (chunked) is read up to the limit and handed on."""
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        too_big = {"message": f"request body over the limit of {limit} bytes for {scope['path']}"}
        if length is not None:
            if length.isdigit() and int(length) > limit:
                await _answer(send, 413, too_big, ((b"connection", b"close"),))
                return None
            return receive
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                return receive  # client gone: let the app see the disconnect
            size += len(msg.get("body", b""))
            if size > limit:
                await _answer(send, 413, too_big, ((b"connection", b"close"),))
                return None
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body", False):
                break
        return _replay(b"".join(chunks), receive)


FastRoute = Callable[[dict[str, Any], bytes, str | None, Any], Awaitable[bool]]


async def _whole_body(receive: Any) -> bytes | None:
    """The request body (None when the client left before sending it all)."""
    msg = await receive()
    if msg["type"] != "http.request":
        return None
    body = msg.get("body", b"")
    while msg.get("more_body", False):
        msg = await receive()
        if msg["type"] != "http.request":
            return None
        body += msg.get("body", b"")
    return bytes(body)


def _replay(body: bytes, receive: Any) -> Any:
    """A `receive` that hands the app a body already read, then the connection's own messages."""
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replay


def _presented(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The key a request presents: X-API-Key, else `Authorization: Bearer <key>`; b"" when none."""
    bearer = b""
    for k, v in headers:
        if k == b"x-api-key":
            return v
        if k == b"authorization" and v[:7].lower() == b"bearer ":
            bearer = v[7:].strip()
    return bearer


def add_security_scheme(app: FastAPI) -> None:
    """Document the X-API-Key scheme (checked by `ApiKeyAuth`) in the OpenAPI schema."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base()
            schema.setdefault("components", {}).setdefault("securitySchemes", {})[API_KEY_SCHEME] = {
                "type": "apiKey", "in": "header", "name": "X-API-Key",
                "description": "A key from ATO_API_KEYS or conf (api.keys); each route needs its scope."}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
