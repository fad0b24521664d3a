"""`POST /v1/events` (logins, payments, account changes) and `POST /v1/feedback` (confirmed outcomes):
what the platform knows besides the scored logins. Everything is appended to the spool the nightly ingest reads (`paths.spool/<stream>/<day>/api-*.jsonl`), with the
name of the key that sent it (`api_key_name`, which ingest keeps in `extra`). A spool write that
fails is counted and logged, and answered 503 (not stored: the client retries); then logins feed the
speed layer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ato.online.decide.cooperative import in_steps
from ato.online.decide.enrich import GEO
from ato.online.decide.vector import live_login
from ato.validate import check_row
from serving.auth import SECURED, UNAUTHORIZED, key_name
from serving.routes.deps import RuntimeDep
from serving.schemas import EventsRequest, EventsResponse, FeedbackRequest, FeedbackResponse

router = APIRouter()
NOT_STORED: dict[int | str, dict[str, Any]] = {
    503: {"description": "The spool could not be written; nothing acknowledged, retry"}}
KEY_FIELD = "api_key_name"  # an extra field on every spooled record: which key sent it


def not_stored(stream: str) -> JSONResponse:
    return JSONResponse(status_code=503, content={"message": f"could not store {stream} in the spool; retry"})


@router.post("/v1/events", response_model=EventsResponse, responses={**UNAUTHORIZED, **NOT_STORED},
             openapi_extra=SECURED)
async def events(req: EventsRequest, rt: RuntimeDep, request: Request) -> Response:
    """Logins (outcomes), payments and account changes: all go to the spool for the nightly ingest,
    then logins feed the speed layer (once per event id). A batch with any invalid record, or a
    login dated outside the accepted bounds, is refused whole (422); a spool that cannot be written
    is a 503 with nothing fed to the speed layer, so the client's retry counts once."""
    decider = rt.chain
    batches = {"logins": req.logins, "payments": req.payments, "account_changes": req.account_changes}
    problems: list[str] = []
    checked: dict[str, list[dict[str, Any]]] = {stream: [] for stream in batches}  # typed values
    for stream, records in batches.items():
        async for i, raw in in_steps(enumerate(records)):
            c = check_row(stream, raw)
            if not c.ok:
                problems.append(f"{stream}[{i}]: {'; '.join(c.reasons)}")
                continue
            if stream == "logins":
                refused = decider.clock.refusal(c.values["event_time"].timestamp())
                if refused:
                    problems.append(f"{stream}[{i}]: event_time: {refused}")
            checked[stream].append(c.values)
    if problems:
        return JSONResponse(status_code=422, content={"message": "; ".join(problems)[:2000], "detail": problems})
    key = key_name(request)
    for stream, records in batches.items():  # the spool first: a retry after a failure here counts once
        async for raw in in_steps(records):
            if not rt.append(rt.spool_writer(stream), {**raw, KEY_FIELD: key}, "spool"):
                return not_stored(stream)
        if records:
            rt.metrics.events.labels(stream).inc(len(records))
    enricher = decider.enricher
    logins = []
    ordered = sorted(checked["logins"], key=lambda v: (v["event_time"], v["event_id"]))
    async for v in in_steps(ordered):  # a big batch must not hold up the logins scored meanwhile
        logins.append(live_login(enricher.enrich(
            v["account_id"], v["event_time"].timestamp(), v["outcome"], v["channel"], v["ip"], v["user_agent"],
            v["device_id"], {k: v[k] for k in GEO}), v["event_id"]))
    for v, x in zip(ordered, logins, strict=True):  # sessions for sensitive actions (ids hashed by the enricher)
        rt.observe_login(v["account_id"], x.signals.time_s, x.signals.success, x.keys["device"], x.keys["ip"])
    for stream, kind in (("account_changes", None), ("payments", "payment")):
        for v in checked[stream]:
            rt.actions.observe({**v, "kind": kind or v["change_type"]}, v["event_time"].timestamp())
    speed = "ok"
    if logins:
        try:
            await decider.record(logins)
        except Exception as exc:
            speed = f"unavailable ({type(exc).__name__})"
            rt.metrics.store_errors.labels(type(exc).__name__).inc()
    return JSONResponse({"accepted": {k: len(v) for k, v in batches.items()}, "speed_layer": speed})


@router.post("/v1/feedback", response_model=FeedbackResponse, responses={**UNAUTHORIZED, **NOT_STORED},
             openapi_extra=SECURED)
async def feedback(req: FeedbackRequest, rt: RuntimeDep, request: Request) -> Response:
    """A confirmed takeover or false positive: appended to the labels stream the nightly ingests."""
    now = datetime.now(UTC)
    rec = {"account_id": req.account_id, "login_event_id": req.event_id, "label": req.label,
           "source": req.source, "reported_at": (req.reported_at or now).astimezone(UTC).isoformat(),
           "attack_started_at": req.attack_started_at.astimezone(UTC).isoformat() if req.attack_started_at else None,
           KEY_FIELD: key_name(request)}
    if not rt.append(rt.spool_writer("labels"), rec, "spool"):
        return not_stored("labels")
    rt.metrics.feedback.labels(req.label).inc()
    return JSONResponse({"accepted": 1, "stream": "labels"})
