"""Who may call what, and the service always answering, in process: named keys with scopes (403 without
the route's scope; the key's name in the audit and the spool), /metrics and the docs on the public
port, the admin port or nowhere, 413 before parsing, 422 for times past the calendar, an audit write
that fails still answers 200 (counted), the service starts with its store down and /readyz says which
level it can reach, and only authenticated /v1 calls count as load."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ato.online.decide.models import Models
from ato.online.keys import KeyRing
from ato.settings import Settings
from ato.validate import check_row
from serving.auth import ApiKeyAuth
from serving.runtime import Given, Runtime
from tests.api.builders import (
    API_KEY,
    FaultyStore,
    api_settings,
    build_app,
    no_models,
    serve,
    tiny_store,
)
from tests.api.test_chain import audit
from tests.api.test_events import spooled, stuffing
from tests.builders import make_login, make_score_request

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
SECRETS = {"backend": "k-backend-8f2a", "analyst": "k-analyst-77c1", "ops": "k-ops-c0de"}
RING = f"backend:score,events={SECRETS['backend']};analyst:feedback={SECRETS['analyst']};ops:admin={SECRETS['ops']}"
PAST_CALENDAR = "9999-12-31T23:59:59-23:59"  # UTC would be year 10000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_key(name: str) -> dict[str, str]:
    return {"X-API-Key": SECRETS[name]}


async def test_each_route_needs_its_scope_and_the_key_name_is_audited_and_spooled(
        settings: Settings, models: Models, log_lines: list[str]) -> None:
    async with serve(build_app(settings, models, keys=KeyRing.parse(RING)), key=None) as c:
        denied = await c.post("/v1/feedback", json={"account_id": "acct_0000001", "label": "ato"},
                              headers=as_key("backend"))
        assert denied.status_code == 403, denied.text
        assert denied.json()["message"] == "API key 'backend' lacks the 'feedback' scope that /v1/feedback needs"
        assert (await c.post("/v1/score", json=make_score_request(), headers=as_key("analyst"))).status_code == 403
        assert (await c.get("/v1/model", headers=as_key("backend"))).status_code == 403
        assert (await c.get("/metrics", headers=as_key("backend"))).status_code == 403
        assert (await c.get("/metrics", headers=as_key("ops"))).status_code == 200
        assert (await c.get("/metrics", headers={"Authorization": f"Bearer {SECRETS['ops']}"})).status_code == 200
        assert (await c.get("/v1/model", headers=as_key("ops"))).status_code == 200
        scored = await c.post("/v1/score", json=make_score_request(), headers=as_key("backend"))
        events = await c.post("/v1/events", json={"logins": stuffing(1)}, headers=as_key("backend"))
        fed = await c.post("/v1/feedback", json={"account_id": "acct_0000001", "label": "ato"}, headers=as_key("analyst"))
        bad = await c.post("/v1/score", json={"account_id": "x"}, headers=as_key("backend"))
        metrics = (await c.get("/metrics", headers=as_key("ops"))).text
    assert (scored.status_code, events.status_code, fed.status_code, bad.status_code) == (200, 200, 200, 422)
    # Every /v1 answer is counted by route and status class (the error-rate alert reads it).
    for route, status, n in (("/v1/score", "2xx", 1), ("/v1/score", "4xx", 2), ("/v1/feedback", "4xx", 1),
                             ("/v1/model", "2xx", 1), ("/v1/events", "2xx", 1)):
        assert f'ato_http_responses_total{{route="{route}",status="{status}"}} {n:.1f}' in metrics, (route, status)
    assert [x["key_name"] for x in audit(settings)] == ["backend"]
    [login] = spooled(settings, "logins")
    [label] = spooled(settings, "labels")
    assert (login["api_key_name"], label["api_key_name"]) == ("backend", "analyst")
    assert check_row("logins", login).extra == {"api_key_name": "backend"}, "ingest keeps it in `extra`"
    written = "\n".join(log_lines) + "".join(p.read_text() for p in Path(settings.paths.spool).rglob("*.jsonl"))
    written += "".join(p.read_text() for p in Path(settings.serving.audit_dir).rglob("*.jsonl"))
    assert not any(s in written for s in SECRETS.values()), "a secret reached a log, the audit or the spool"


@pytest.mark.parametrize(("metrics", "docs"), [("admin_port", "admin_port"), ("off", "off"), ("admin_port", "public")])
async def test_metrics_and_docs_go_to_the_admin_port_or_nowhere(tmp_path: Path, models: Models, metrics: str,
                                                                docs: str) -> None:
    settings = api_settings(tmp_path, ATO_API__METRICS=metrics, ATO_API__DOCS=docs,
                            ATO_API__ADMIN_PORT=str(free_port()))
    app = build_app(settings, models)
    async with serve(app) as c:
        public = {p: (await c.get(p)).status_code for p in ("/metrics", "/docs", "/openapi.json")}
        admin: dict[str, int] = {}
        if app.state.admin is not None:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.admin),
                                         base_url="http://admin.test") as a:
                admin = {p: (await a.get(p)).status_code for p in ("/metrics", "/docs", "/openapi.json")}
                if docs == "admin_port":
                    assert "/v1/score" in (await a.get("/openapi.json")).json()["paths"]
    on_public_docs = 200 if docs == "public" else 404
    assert public == {"/metrics": 404, "/docs": on_public_docs, "/openapi.json": on_public_docs}
    expected = {"/metrics": 200 if metrics == "admin_port" else 404,
                "/docs": 200 if docs == "admin_port" else 404, "/openapi.json": 200 if docs == "admin_port" else 404}
    assert admin == (expected if "admin_port" in (metrics, docs) else {})


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def test_a_body_over_the_limit_is_a_413_before_parsing(settings: Settings, models: Models) -> None:
    big = json.dumps({**make_score_request(), "user_agent": "x" * (1 << 20)}).encode()  # 1 MiB and more
    async with serve(build_app(settings, models)) as c:
        declared = await c.post("/v1/score", content=big, headers={"Content-Type": "application/json"})
        chunked = await c.post("/v1/score", content=chunks(big), headers={"Content-Type": "application/json"})
        anonymous = await c.post("/v1/score", content=big, headers={"X-API-Key": ""})
        batch = json.dumps({"logins": [make_login(event_id=f"ev-big-{i}") for i in range(1000)]}).encode()
        events = await c.post("/v1/events", content=batch, headers={"Content-Type": "application/json"})
        small_chunked = await c.post("/v1/score", content=chunks(json.dumps(make_score_request()).encode(), 7),
                                     headers={"Content-Type": "application/json"})
    assert declared.status_code == chunked.status_code == 413, (declared.text, chunked.text)
    assert "65536 bytes" in declared.json()["message"]
    assert anonymous.status_code == 401, "no key: refused before the body is looked at"
    assert len(batch) > 65536 and events.status_code == 200, "a 1000-record batch is within the events limit"
    assert small_chunked.status_code == 200, small_chunked.text
    assert audit(settings)[-1]["fallback_level"] == 0


async def test_times_past_the_calendar_are_a_422(settings: Settings, models: Models) -> None:
    async with serve(build_app(settings, models)) as c:
        score = await c.post("/v1/score", json=make_score_request(event_time=PAST_CALENDAR))
        fed = await c.post("/v1/feedback", json={"account_id": "a", "label": "ato", "reported_at": PAST_CALENDAR})
        events = await c.post("/v1/events", json={"logins": [{**stuffing(1)[0], "event_time": PAST_CALENDAR}]})
    assert score.status_code == 422 and score.json()["message"].startswith("event_time:"), score.text
    assert fed.status_code == 422 and fed.json()["message"].startswith("reported_at:"), fed.text
    assert events.status_code == 422 and events.json()["message"].startswith("logins[0]: invalid"), events.text


class BrokenAppender:
    """An audit log or spool file that cannot be written (a full disk), injected on purpose."""

    def append(self, record: dict[str, Any], now: Any = None) -> None:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        return None


async def test_a_failed_audit_write_still_returns_the_decision_and_is_counted(
        settings: Settings, models: Models, log_lines: list[str]) -> None:
    app = build_app(settings, models)
    async with serve(app) as c:
        app.state.rt.audit = BrokenAppender()
        r = await c.post("/v1/score", json=make_score_request())
        app.state.rt.spool["labels"] = BrokenAppender()
        fed = await c.post("/v1/feedback", json={"account_id": "acct_0000001", "label": "ato"})
        metrics = (await c.get("/metrics")).text
    assert r.status_code == 200 and r.json()["fallback_level"] == 0, r.text
    assert fed.status_code == 503 and "retry" in fed.json()["message"], "feedback not stored: the client retries"
    assert 'ato_write_failures_total{what="audit"} 1.0' in metrics
    assert 'ato_write_failures_total{what="spool"} 1.0' in metrics
    assert any(line.endswith("audit write failed: OSError") for line in log_lines), log_lines


async def test_the_service_starts_with_its_store_down_and_readyz_says_which_level(
        settings: Settings, models: Models) -> None:
    """A store whose refresh and lookups raise (Redis down at start): the service starts and answers from
    the fallback model; /readyz is ready at level 1 and says why not 0. With no model at all, only the
    rules can answer: not ready (api.ready_max_level is 1)."""
    async with serve(build_app(settings, models, store=FaultyStore(tiny_store(settings), "raise"))) as c:
        d = (await c.post("/v1/score", json=make_score_request())).json()
        ready = await c.get("/readyz")
    async with serve(build_app(settings, no_models(settings), store=FaultyStore(tiny_store(settings), "raise"))) as c:
        rules = (await c.post("/v1/score", json=make_score_request())).json()
        not_ready = await c.get("/readyz")
    assert d["fallback_level"] == 1 and rules["fallback_level"] == 2
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "level": 1, "problems": ["store down (ConnectionError)"]}
    assert not_ready.status_code == 503 and not_ready.json()["level"] == 2


async def test_only_authenticated_v1_calls_count_as_load(settings: Settings) -> None:
    """Health, readiness, metrics and refused calls never count as requests in flight (the load that makes
    the chain shed); an authenticated /v1 call does while it runs."""
    rt = Runtime(settings, Given(), {API_KEY})
    seen: dict[str, int] = {}

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen[scope["path"]] = rt.in_flight
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw = ApiKeyAuth(inner, rt)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mw), base_url="http://t") as c:  # type: ignore[arg-type]
            for path in ("/healthz", "/readyz", "/docs"):
                await c.get(path)
            await c.get("/metrics", headers={"X-API-Key": API_KEY})
            assert (await c.post("/v1/score", json={})).status_code == 401
            await c.post("/v1/score", json={}, headers={"X-API-Key": API_KEY})
    finally:
        rt.audit.close()
    assert seen == {"/healthz": 0, "/readyz": 0, "/docs": 0, "/metrics": 0, "/v1/score": 1}
    assert rt.in_flight == 0
