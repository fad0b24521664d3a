"""`POST /v1/actions/score`: one sensitive action (a payment, an account change), one decision, from
the account's action history (`ato.online.sensitive`) and the champion's action model; written to
the audit log (`<audit_dir>/<day>/actions-*.jsonl`, pseudonymized ids) before the response."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ato.online.decide.records import new_id
from ato.online.sensitive import ActionDecision, json_features
from serving.auth import SECURED, UNAUTHORIZED, key_name
from serving.errors import field_refused
from serving.routes.deps import RuntimeDep
from serving.schemas import ActionScoreRequest, ActionScoreResponse

router = APIRouter()
_encode = msgspec.json.Encoder().encode


@router.post("/v1/actions/score", response_model=ActionScoreResponse, responses=UNAUTHORIZED, openapi_extra=SECURED)
async def score_action(req: ActionScoreRequest, rt: RuntimeDep, request: Request) -> Response:
    """Score a sensitive action with the account's history since the snapshot and this session's login."""
    t0 = time.perf_counter()
    body = req.model_dump()
    time_s = req.event_time.timestamp() if req.event_time else time.time()
    refused = rt.chain.clock.refusal(time_s)
    if refused:
        return field_refused("event_time", refused)
    acts = rt.actions
    d = acts.decide(body, time_s)
    decision_id = new_id()
    rt.append(rt.action_audit, audit_line(decision_id, body, time_s, d, acts.book.as_of, key_name(request),
                                          (time.perf_counter() - t0) * 1000,
                                          rt.settings.serving.audit_features), "audit")
    out = {"decision_id": decision_id, "event_id": req.event_id,
           "risk_score": None if d.risk_score is None else round(d.risk_score, 6), "action": d.action,
           "reasons": d.reasons, "model_version": d.model_version, "snapshot_as_of": acts.book.as_of,
           "features": json_features(d.features) if req.explain else None}
    return Response(_encode(out), 200, media_type="application/json")


def audit_line(decision_id: str, req: dict[str, Any], time_s: float, d: ActionDecision, as_of: str | None,
               key: str | None, latency_ms: float, with_features: bool) -> bytes:
    """One audit line (pseudonymized ids only: no raw IP or device id)."""
    rec = {"decision_id": decision_id, "event_id": req["event_id"], "decided_at": datetime.now(UTC).isoformat(),
           "event_time": datetime.fromtimestamp(time_s, UTC).isoformat(), "account_id": req["account_id"],
           "kind": req["kind"], "amount": req.get("amount"), "currency": req.get("currency"),
           "ip_hash": d.ip_hash, "device_hash": d.device_hash, "risk_score": d.risk_score, "action": d.action,
           "reasons": d.reasons, "model_version": d.model_version, "snapshot_as_of": as_of, "key_name": key,
           "latency_ms": latency_ms, "features": json_features(d.features) if with_features else None}
    return _encode(rec) + b"\n"
