"""`POST /v1/score`: one login attempt, one decision, always (model, fallback model or rules, then the
guardrails and attack mode), written to the audit log before the response goes out. An audit write
that fails is counted and logged; the decision is still returned.

Most requests never reach this route: `serving.fast_score` decodes well-formed bodies with a compiled
validator in the middleware and calls `answer` directly. What it does not accept comes here, so every
422 (and every lax input pydantic accepts) is exactly the route's.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ato.online.decide.decision import Decision
from ato.online.decide.records import new_id
from ato.online.decide.vector import json_safe
from serving.auth import SECURED, UNAUTHORIZED, key_name
from serving.errors import field_refused
from serving.routes.deps import RuntimeDep
from serving.runtime import Runtime
from serving.schemas import ScoreRequest, ScoreResponse

log = logging.getLogger("ato.serving")
router = APIRouter()
_encode = msgspec.json.Encoder().encode  # NaN and infinities as null: the audit line is strict JSON


@router.post("/v1/score", response_model=ScoreResponse, responses=UNAUTHORIZED, openapi_extra=SECURED)
async def score(req: ScoreRequest, rt: RuntimeDep, request: Request) -> Response:
    """Score one login attempt; always answers (model, fallback model, or rules)."""
    status, body = await answer(rt, req.model_dump(), key_name(request))
    return Response(body, status, media_type="application/json")


async def answer(rt: Runtime, attempt: dict[str, Any], key: str | None) -> tuple[int, bytes]:
    """(status, JSON body) for one validated login attempt (`ScoreRequest` fields, as `model_dump` gives them)."""
    decider = rt.chain
    decision_id = new_id()
    event_time = attempt["event_time"]
    time_s = event_time.timestamp() if event_time else time.time()
    refused = decider.clock.refusal(time_s)  # outside [server time - max age, + max lead]
    if refused:
        r = field_refused("event_time", refused)
        return r.status_code, bytes(r.body)
    try:
        d = await decider.decide(attempt, time_s, rt.overloaded())
    except Exception as exc:
        log.exception("decision chain failed (%s); answering from the rules", type(exc).__name__)
        d = decider.last_resort(attempt, time_s)
    keys = d.login.keys
    rt.observe_login(attempt["account_id"], time_s, attempt["outcome"] == "success", keys.get("device"), keys.get("ip"))
    level = str(d.fallback_level)
    m = rt.metrics
    m.decided(d.action, level, d.latency_ms / 1000)
    if d.store_error:
        m.store_errors.labels(d.store_error).inc()
    if d.shadow is not None:
        m.shadowed("same" if d.shadow.action == d.model_action else "other")
    elif d.fallback_level == 0 and decider.models.shadow is not None:
        m.shadowed("skipped")
    for g in d.guardrails:
        m.guardrails.labels(g, level).inc()
    event_id = attempt["event_id"] or decision_id
    # a replayed day (clock: replay) is filed under the day it happened, as if decided then
    filed = datetime.fromtimestamp(time_s, UTC) if rt.settings.serving.clock == "replay" else None
    rt.append(rt.audit, audit_line(decision_id, event_id, attempt, time_s, d,
                                   d.features if rt.settings.serving.audit_features else None, key), "audit", filed)
    body = {"decision_id": decision_id, "event_id": event_id, "risk_score": round(d.risk_score, 6),
            "action": d.action, "reasons": d.reasons, "model_version": d.model_version,
            "fallback_level": d.fallback_level, "latency_ms": round(d.latency_ms, 3),
            "snapshot_as_of": d.snapshot_as_of, "features": json_safe(d.features) if attempt["explain"] else None}
    return 200, _encode(body)


def audit_record(decision_id: str, event_id: str, attempt: dict[str, Any], time_s: float, d: Decision,
                 features: dict[str, Any] | None, key: str | None = None) -> dict[str, Any]:
    """One line of the decision log (pseudonymized ids only; no raw IP, device id or user agent)."""
    keys = d.login.keys
    return {"decision_id": decision_id, "event_id": event_id, "decided_at": datetime.now(UTC).isoformat(),
            "event_time": datetime.fromtimestamp(time_s, UTC).isoformat(), "account_id": attempt["account_id"],
            "ip_hash": keys.get("ip"), "device_hash": keys.get("device"), "channel": attempt["channel"],
            "outcome": attempt["outcome"], "risk_score": d.risk_score, "action": d.action, "reasons": d.reasons,
            "fallback_level": d.fallback_level, "model_version": d.model_version, "latency_ms": d.latency_ms,
            "snapshot_as_of": d.snapshot_as_of, "store_error": d.store_error, "guardrails": d.guardrails,
            "key_name": key, "model_action": d.model_action,
            **({"shadow_version": d.shadow.version, "shadow_score": d.shadow.risk_score,
                "shadow_action": d.shadow.action} if d.shadow is not None else {}),
            "features": features}


def audit_line(decision_id: str, event_id: str, attempt: dict[str, Any], time_s: float, d: Decision,
               features: dict[str, Any] | None, key: str | None = None) -> bytes:
    """The audit record as one JSON line, encoded in one C call (missing features as null)."""
    return _encode(audit_record(decision_id, event_id, attempt, time_s, d, features, key)) + b"\n"
