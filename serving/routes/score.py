"""`POST /v1/score`: one login attempt, one decision, always (model, fallback model or rules, then the
guardrails and attack mode), written to the audit log before the response goes out. An audit write
that fails is counted and logged; the decision is still returned."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ato.online.decide.chain import Decision
from ato.online.decide.vector import json_safe
from serving.auth import SECURED, UNAUTHORIZED, key_name
from serving.errors import field_refused
from serving.routes.deps import RuntimeDep
from serving.schemas import ScoreRequest, ScoreResponse

log = logging.getLogger("ato.serving")
router = APIRouter()


@router.post("/v1/score", response_model=ScoreResponse, responses=UNAUTHORIZED, openapi_extra=SECURED)
async def score(req: ScoreRequest, rt: RuntimeDep, request: Request) -> Response:
    """Score one login attempt; always answers (model, fallback model, or rules)."""
    decider = rt.chain
    decision_id = uuid.uuid4().hex
    attempt = req.model_dump()
    time_s = req.event_time.timestamp() if req.event_time else time.time()
    refused = decider.clock.refusal(time_s)  # outside [server time - max age, + max lead]
    if refused:
        return field_refused("event_time", refused)
    try:
        d = await decider.decide(attempt, time_s, rt.overloaded())
    except Exception as exc:
        log.exception("decision chain failed (%s); answering from the rules", type(exc).__name__)
        d = decider.last_resort(attempt, time_s)
    level = str(d.fallback_level)
    rt.metrics.latency.labels(level).observe(d.latency_ms / 1000)
    rt.metrics.decisions.labels(d.action, level).inc()
    if d.store_error:
        rt.metrics.store_errors.labels(d.store_error).inc()
    for g in d.guardrails:
        rt.metrics.guardrails.labels(g, level).inc()
    event_id = req.event_id or decision_id
    # the audit line keeps NaN for a missing feature (Python's JSON reads it; the nightly load
    # turns it into null); the response is strict JSON
    rt.append(rt.audit, audit_record(decision_id, event_id, req, time_s, d,
                                     d.features if rt.settings.serving.audit_features else None, key_name(request)),
              "audit")
    body = {"decision_id": decision_id, "event_id": event_id, "risk_score": round(d.risk_score, 6),
            "action": d.action, "reasons": d.reasons, "model_version": d.model_version,
            "fallback_level": d.fallback_level, "latency_ms": round(d.latency_ms, 3),
            "snapshot_as_of": d.snapshot_as_of, "features": json_safe(d.features) if req.explain else None}
    return JSONResponse(body)


def audit_record(decision_id: str, event_id: str, req: ScoreRequest, time_s: float, d: Decision,
                 features: dict[str, Any] | None, key: str | None = None) -> dict[str, Any]:
    """One line of the decision log (pseudonymized ids only; no raw IP, device id or user agent)."""
    keys = d.login.keys
    return {"decision_id": decision_id, "event_id": event_id, "decided_at": datetime.now(UTC).isoformat(),
            "event_time": datetime.fromtimestamp(time_s, UTC).isoformat(), "account_id": req.account_id,
            "ip_hash": keys.get("ip"), "device_hash": keys.get("device"), "channel": req.channel,
            "outcome": req.outcome, "risk_score": d.risk_score, "action": d.action, "reasons": d.reasons,
            "fallback_level": d.fallback_level, "model_version": d.model_version, "latency_ms": d.latency_ms,
            "snapshot_as_of": d.snapshot_as_of, "store_error": d.store_error, "guardrails": d.guardrails,
            "key_name": key, "features": features}
