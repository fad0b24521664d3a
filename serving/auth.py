"""API-key authentication: a pure ASGI middleware (cheaper than FastAPI dependencies on the hot
path) that also counts requests in flight, and the matching OpenAPI security scheme. Keys are
compared as SHA-256 digests and never logged."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from serving.runtime import Runtime

API_KEY_SCHEME = "ApiKey"
SECURED: dict[str, Any] = {"security": [{API_KEY_SCHEME: []}]}
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"description": "Missing or invalid X-API-Key"}}
UNAUTHORIZED_BODY = json.dumps({"message": "missing or invalid API key (X-API-Key header)"}).encode()


class ApiKeyAuth:
    """Pure ASGI middleware (cheaper than FastAPI dependencies on the hot path): counts requests in
    flight, and answers 401 to a /v1 request without a valid X-API-Key before any parsing."""

    def __init__(self, app: Callable[..., Awaitable[None]], rt: Runtime) -> None:
        self.app, self.rt = app, rt

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/v1/") and not self._authorized(scope):
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"ApiKey"),
                                    (b"content-length", str(len(UNAUTHORIZED_BODY)).encode())]})
            await send({"type": "http.response.body", "body": UNAUTHORIZED_BODY})
            return
        self.rt.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.rt.in_flight -= 1

    def _authorized(self, scope: dict[str, Any]) -> bool:
        key = next((v for k, v in scope["headers"] if k == b"x-api-key"), None)
        if not key:
            return False
        digest = hashlib.sha256(key).hexdigest()
        return any(hmac.compare_digest(digest, h) for h in self.rt.keys)


def add_security_scheme(app: FastAPI) -> None:
    """Document the X-API-Key scheme (checked by `ApiKeyAuth`) in the OpenAPI schema."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base()
            schema.setdefault("components", {}).setdefault("securitySchemes", {})[API_KEY_SCHEME] = {
                "type": "apiKey", "in": "header", "name": "X-API-Key", "description": "A key from ATO_API_KEYS."}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
