"""`GET /v1/model` (the champion, snapshot, store and policy in use; admin scope), `/healthz` (liveness)
and `/readyz` (readiness: can the service decide, and at which level). `/metrics` and the docs are in
`serving.admin` (public port with the admin scope, the admin port, or off)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from ato.model.registry import metrics as registry_metrics
from serving.auth import SECURED, UNAUTHORIZED
from serving.routes.deps import RuntimeDep
from serving.runtime import Runtime

router = APIRouter()


@router.get("/v1/model", responses=UNAUTHORIZED, openapi_extra=SECURED)
async def model(rt: RuntimeDep) -> dict[str, Any]:
    """The champion in use, its test metrics, the live snapshot, the store's state and the policy."""
    d, s = rt.chain, rt.settings
    m = d.models
    test: dict[str, Any] = {}
    if m.version:
        with contextlib.suppress(OSError, KeyError, ValueError):
            test = registry_metrics(s, m.version).get("test", {}).get("model", {})
    return {"model_version": m.version, "features": len(m.model.features) if m.model else 0,
            "tiers": m.model.tiers.starts if m.model else {}, "fallback": m.fallback is not None,
            "rules": len(m.rules.rules), "test_metrics": test, "snapshot_as_of": d.store.as_of,
            "shadow_version": m.shadow_version, "store": d.store.name, "breaker": d.breaker.state,
            "budget_ms": s.serving.budget_ms,
            "guardrails": [g.name for g in d.policy.guardrails.guardrails], "attack_mode": attack_doc(rt)}


def attack_doc(rt: Runtime) -> dict[str, Any]:
    st = rt.chain.policy.attack.status()
    now = rt.chain.policy.attack.clock()
    return {"on": st.on, "global": st.global_on, "networks": sorted(st.networks),
            "for_s": None if st.since is None else round(now - st.since, 1)}


@router.get("/healthz")
async def healthz(rt: RuntimeDep) -> dict[str, Any]:
    """The process is up."""
    return {"status": "ok", "uptime_s": round(time.time() - rt.started, 1)}


@router.get("/readyz", responses={503: {"description": "Cannot decide at api.ready_max_level or better"}})
async def readyz(rt: RuntimeDep) -> Response:
    """Ready means "can decide": `level` is the best link reachable now (0 the model on the full vector,
    1 the fallback model, 2 the rules); ready while it is at most `api.ready_max_level`. `problems` says
    what keeps it from level 0 (store down, no snapshot, stale snapshot, no champion)."""
    level, problems = await rt.readiness()
    ready = level is not None and level <= rt.settings.api.ready_max_level
    return JSONResponse({"ready": ready, "level": level, "problems": problems}, status_code=200 if ready else 503)
