"""`POST /v1/events` (logins, payments, account changes) and `POST /v1/feedback` (confirmed outcomes):
what the platform knows besides the scored logins. Logins feed the speed layer; everything is
appended to the spool the nightly ingest reads (`paths.spool/<stream>/<day>/api-*.jsonl`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from ato.online.decide.enrich import GEO
from ato.online.decide.vector import live_login
from ato.validate import check_row
from serving.auth import SECURED, UNAUTHORIZED
from serving.routes.deps import RuntimeDep
from serving.schemas import EventsRequest, EventsResponse, FeedbackRequest, FeedbackResponse

router = APIRouter()


@router.post("/v1/events", response_model=EventsResponse, responses=UNAUTHORIZED, openapi_extra=SECURED)
async def events(req: EventsRequest, rt: RuntimeDep) -> Response:
    """Logins (outcomes), payments and account changes: all go to the spool for the nightly ingest,
    then logins feed the speed layer (once per event id). A batch with any invalid record, or a
    login dated outside the accepted bounds, is refused whole (422)."""
    decider = rt.chain
    batches = {"logins": req.logins, "payments": req.payments, "account_changes": req.account_changes}
    problems, typed = [], []
    for stream, records in batches.items():
        for i, raw in enumerate(records):
            c = check_row(stream, raw)
            if not c.ok:
                problems.append(f"{stream}[{i}]: {'; '.join(c.reasons)}")
            elif stream == "logins":
                refused = decider.clock.refusal(c.values["event_time"].timestamp())
                if refused:
                    problems.append(f"{stream}[{i}]: event_time: {refused}")
                typed.append(c.values)
    if problems:
        return JSONResponse(status_code=422, content={"message": "; ".join(problems)[:2000], "detail": problems})
    for stream, records in batches.items():  # the spool first: a retry after a failure here counts once
        for raw in records:
            rt.spool_writer(stream).append(raw)
        if records:
            rt.metrics.events.labels(stream).inc(len(records))
    speed = "ok"
    if typed:
        enricher = decider.enricher
        logins = []
        for i, v in enumerate(sorted(typed, key=lambda v: (v["event_time"], v["event_id"]))):
            logins.append(live_login(enricher.enrich(
                v["account_id"], v["event_time"].timestamp(), v["outcome"], v["channel"], v["ip"], v["user_agent"],
                v["device_id"], {k: v[k] for k in GEO}), v["event_id"]))
            if i % 50 == 49:
                await asyncio.sleep(0)  # a big batch must not hold up the logins being scored meanwhile
        try:
            await decider.record(logins)
        except Exception as exc:
            speed = f"unavailable ({type(exc).__name__})"
            rt.metrics.store_errors.labels(type(exc).__name__).inc()
    return JSONResponse({"accepted": {k: len(v) for k, v in batches.items()}, "speed_layer": speed})


@router.post("/v1/feedback", response_model=FeedbackResponse, responses=UNAUTHORIZED, openapi_extra=SECURED)
async def feedback(req: FeedbackRequest, rt: RuntimeDep) -> Response:
    """A confirmed takeover or false positive: appended to the labels stream the nightly ingests."""
    now = datetime.now(UTC)
    rec = {"account_id": req.account_id, "login_event_id": req.event_id, "label": req.label,
           "source": req.source, "reported_at": (req.reported_at or now).astimezone(UTC).isoformat(),
           "attack_started_at": req.attack_started_at.astimezone(UTC).isoformat() if req.attack_started_at else None}
    rt.spool_writer("labels").append(rec)
    rt.metrics.feedback.labels(req.label).inc()
    return JSONResponse({"accepted": 1, "stream": "labels"})
