"""The API: `create_app()` builds it (uvicorn runs `serving.app:create_app` as a factory).

Routes are thin: validation (pydantic, 422 with a message), auth, then `ato.online.chain.Decider`.
Background tasks pick up new snapshots and champions (`serving.reload_s`) and watch event-loop lag,
which, with the in-flight count, decides when to shed to the rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ato.model.registry import metrics as registry_metrics
from ato.online.chain import Decision
from ato.online.vector import json_safe, live_login
from ato.settings import Settings, load_settings
from ato.validate import check_row
from serving.gate import SECURED, UNAUTHORIZED, Gate, add_security_scheme
from serving.runtime import Runtime, configure_logging, readiness_problems
from serving.schemas import (
    EventsRequest,
    EventsResponse,
    FeedbackRequest,
    FeedbackResponse,
    ScoreRequest,
    ScoreResponse,
)

log = logging.getLogger("ato.serving")


def create_app(settings: Settings | None = None) -> FastAPI:
    configure_logging()
    settings = settings or load_settings()
    rt = Runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.start()
        tasks = [asyncio.create_task(rt.reload_loop()), asyncio.create_task(rt.lag_loop())]
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            await rt.stop()

    app = FastAPI(title="ato-risk", version="1", lifespan=lifespan,
                  description="Account-takeover risk scoring: a decision for every login attempt.")
    app.state.rt = rt

    app.add_middleware(Gate, rt=rt)
    add_security_scheme(app)

    @app.exception_handler(RequestValidationError)
    async def unprocessable(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
                    for e in exc.errors()]
        return JSONResponse(status_code=422, content={"message": "; ".join(problems)[:2000],
                                                      "detail": jsonable_errors(exc.errors())})

    @app.post("/v1/score", response_model=ScoreResponse, responses=UNAUTHORIZED, openapi_extra=SECURED)
    async def score(req: ScoreRequest) -> Response:
        """Score one login attempt; always answers (model, fallback model, or rules)."""
        assert rt.decider is not None
        decision_id = uuid.uuid4().hex
        attempt = req.model_dump()
        time_s = req.event_time.timestamp() if req.event_time else time.time()
        try:
            d = await rt.decider.decide(attempt, time_s, rt.overloaded())
        except Exception as exc:
            log.exception("decision chain failed (%s); answering from the rules", type(exc).__name__)
            d = rt.decider.last_resort(attempt, time_s)
        level = str(d.fallback_level)
        rt.metrics.latency.labels(level).observe(d.latency_ms / 1000)
        rt.metrics.decisions.labels(d.action, level).inc()
        if d.store_error:
            rt.metrics.store_errors.labels(d.store_error).inc()
        event_id = req.event_id or decision_id
        # the audit line keeps NaN for a missing feature (Python's JSON reads it; the nightly load
        # turns it into null); the response is strict JSON
        rt.audit.append(audit_record(decision_id, event_id, req, time_s, d,
                                     d.features if settings.serving.audit_features else None))
        body = {"decision_id": decision_id, "event_id": event_id, "risk_score": round(d.risk_score, 6),
                "action": d.action, "reasons": d.reasons, "model_version": d.model_version,
                "fallback_level": d.fallback_level, "latency_ms": round(d.latency_ms, 3),
                "snapshot_as_of": d.snapshot_as_of, "features": json_safe(d.features) if req.explain else None}
        return JSONResponse(body)

    @app.post("/v1/events", response_model=EventsResponse, responses=UNAUTHORIZED, openapi_extra=SECURED)
    async def events(req: EventsRequest) -> Response:
        """Logins (outcomes), payments and account changes: logins feed the speed layer; all go to
        the spool for the nightly ingest. A batch with any invalid record is refused whole (422)."""
        assert rt.decider is not None
        batches = {"logins": req.logins, "payments": req.payments, "account_changes": req.account_changes}
        problems, typed = [], []
        for stream, records in batches.items():
            for i, raw in enumerate(records):
                c = check_row(stream, raw)
                if not c.ok:
                    problems.append(f"{stream}[{i}]: {'; '.join(c.reasons)}")
                elif stream == "logins":
                    typed.append(c.values)
        if problems:
            return JSONResponse(status_code=422, content={"message": "; ".join(problems)[:2000], "detail": problems})
        speed = "ok"
        if typed:
            enricher = rt.decider.enricher
            logins = []
            for i, v in enumerate(sorted(typed, key=lambda v: (v["event_time"], v["event_id"]))):
                logins.append(live_login(enricher.enrich(
                    v["account_id"], v["event_time"].timestamp(), v["outcome"], v["channel"], v["ip"], v["user_agent"],
                    v["device_id"], {k: v[k] for k in ("country", "city", "latitude", "longitude", "asn")})))
                if i % 50 == 49:
                    await asyncio.sleep(0)  # a big batch must not hold up the logins being scored meanwhile
            try:
                await rt.decider.record(logins)
            except Exception as exc:
                speed = f"unavailable ({type(exc).__name__})"
                rt.metrics.store_errors.labels(type(exc).__name__).inc()
        for stream, records in batches.items():
            for raw in records:
                rt.spool_writer(stream).append(raw)
            if records:
                rt.metrics.events.labels(stream).inc(len(records))
        return JSONResponse({"accepted": {k: len(v) for k, v in batches.items()}, "speed_layer": speed})

    @app.post("/v1/feedback", response_model=FeedbackResponse, responses=UNAUTHORIZED, openapi_extra=SECURED)
    async def feedback(req: FeedbackRequest) -> Response:
        """A confirmed takeover or false positive: appended to the labels stream the nightly ingests."""
        now = datetime.now(UTC)
        rec = {"account_id": req.account_id, "login_event_id": req.event_id, "label": req.label,
               "source": req.source, "reported_at": (req.reported_at or now).astimezone(UTC).isoformat(),
               "attack_started_at": req.attack_started_at.astimezone(UTC).isoformat() if req.attack_started_at else None}
        rt.spool_writer("labels").append(rec)
        rt.metrics.feedback.labels(req.label).inc()
        return JSONResponse({"accepted": 1, "stream": "labels"})

    @app.get("/v1/model", responses=UNAUTHORIZED, openapi_extra=SECURED)
    async def model() -> dict[str, Any]:
        """The champion in use, its test metrics, the live snapshot and the store's state."""
        assert rt.decider is not None
        m = rt.decider.models
        test: dict[str, Any] = {}
        if m.version:
            with contextlib.suppress(OSError, KeyError, ValueError):
                test = registry_metrics(settings, m.version).get("test", {}).get("model", {})
        return {"model_version": m.version, "features": len(m.model.features) if m.model else 0,
                "tiers": m.model.tiers.starts if m.model else {}, "fallback": m.fallback is not None,
                "rules": len(m.rules.rules), "test_metrics": test, "snapshot_as_of": rt.decider.store.as_of,
                "store": rt.decider.store.name, "breaker": rt.decider.breaker.state,
                "budget_ms": settings.serving.budget_ms}

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """The process is up."""
        return {"status": "ok", "uptime_s": round(time.time() - rt.started, 1)}

    @app.get("/readyz", responses={503: {"description": "Not ready: no model, no snapshot, stale snapshot or store down"}})
    async def readyz() -> Response:
        """Ready: a champion is loaded, a snapshot is live (and fresh, when conf asks) and the store answers."""
        problems = readiness_problems(rt)
        if rt.decider is not None and not problems:
            try:
                await asyncio.wait_for(rt.decider.store.ping(), 0.5)
            except Exception as exc:
                problems.append(f"store not answering ({type(exc).__name__})")
        body = {"ready": not problems, "problems": problems}
        return JSONResponse(body, status_code=200 if not problems else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        rt.metrics.in_flight.set(rt.in_flight)
        return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app


def jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": str(e.get("type"))}
            for e in errors]


def audit_record(decision_id: str, event_id: str, req: ScoreRequest, time_s: float, d: Decision,
                 features: dict[str, Any] | None) -> dict[str, Any]:
    """One line of the decision log (pseudonymized ids only; no raw IP, device id or user agent)."""
    keys = d.login.keys
    return {"decision_id": decision_id, "event_id": event_id, "decided_at": datetime.now(UTC).isoformat(),
            "event_time": datetime.fromtimestamp(time_s, UTC).isoformat(), "account_id": req.account_id,
            "ip_hash": keys.get("ip"), "device_hash": keys.get("device"), "channel": req.channel,
            "outcome": req.outcome, "risk_score": d.risk_score, "action": d.action, "reasons": d.reasons,
            "fallback_level": d.fallback_level, "model_version": d.model_version, "latency_ms": d.latency_ms,
            "snapshot_as_of": d.snapshot_as_of, "store_error": d.store_error, "features": features}
