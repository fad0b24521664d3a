"""A malformed request's answer: 422 with a `message` naming each bad field, and the details."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def unprocessable(request: Request, exc: Exception) -> JSONResponse:
    """422: `message` reads "field: problem; ..." (no request values echoed beyond pydantic's own)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    problems = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
                for e in errors]
    return JSONResponse(status_code=422, content={"message": "; ".join(problems)[:2000],
                                                  "detail": jsonable_errors(errors)})


def jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": str(e.get("type"))}
            for e in errors]


def field_refused(field: str, problem: str) -> JSONResponse:
    """422 for one field refused after parsing (e.g. an event_time outside the accepted bounds), in
    the same shape as the validation errors."""
    return JSONResponse(status_code=422, content={"message": f"{field}: {problem}", "detail": [
        {"loc": ["body", field], "msg": problem, "type": "value_error"}]})
