"""`GET /v1/model` (the champion, snapshot and store in use), `/healthz` (liveness), `/readyz`
(readiness) and `/metrics` (Prometheus). Only /v1/model needs an API key."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ato.model.registry import metrics as registry_metrics
from serving.auth import SECURED, UNAUTHORIZED
from serving.routes.deps import RuntimeDep

router = APIRouter()
PING_S = 0.5  # a store that does not answer a ping this fast is not ready


@router.get("/v1/model", responses=UNAUTHORIZED, openapi_extra=SECURED)
async def model(rt: RuntimeDep) -> dict[str, Any]:
    """The champion in use, its test metrics, the live snapshot and the store's state."""
    d, s = rt.chain, rt.settings
    m = d.models
    test: dict[str, Any] = {}
    if m.version:
        with contextlib.suppress(OSError, KeyError, ValueError):
            test = registry_metrics(s, m.version).get("test", {}).get("model", {})
    return {"model_version": m.version, "features": len(m.model.features) if m.model else 0,
            "tiers": m.model.tiers.starts if m.model else {}, "fallback": m.fallback is not None,
            "rules": len(m.rules.rules), "test_metrics": test, "snapshot_as_of": d.store.as_of,
            "store": d.store.name, "breaker": d.breaker.state, "budget_ms": s.serving.budget_ms}


@router.get("/healthz")
async def healthz(rt: RuntimeDep) -> dict[str, Any]:
    """The process is up."""
    return {"status": "ok", "uptime_s": round(time.time() - rt.started, 1)}


@router.get("/readyz", responses={503: {"description": "Not ready: no model, no snapshot, stale snapshot or store down"}})
async def readyz(rt: RuntimeDep) -> Response:
    """Ready: a champion is loaded, a snapshot is live (and fresh, when conf asks) and the store answers."""
    problems = rt.readiness_problems()
    if rt.decider is not None and not problems:
        try:
            await asyncio.wait_for(rt.decider.store.ping(), PING_S)
        except Exception as exc:
            problems.append(f"store not answering ({type(exc).__name__})")
    body = {"ready": not problems, "problems": problems}
    return JSONResponse(body, status_code=200 if not problems else 503)


@router.get("/metrics")
async def metrics(rt: RuntimeDep) -> Response:
    """Prometheus metrics (summed over the workers when there are several)."""
    rt.metrics.in_flight.set(rt.in_flight)
    if rt.decider is not None:
        rt.metrics.set_speed(rt.decider.local_speed.stats())
    return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)
