"""The API in process, around a tiny model: API keys on every /v1 route and on /metrics (and never
logged), 422s that name the field, the model endpoint and the Prometheus metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from ato.online.decide.models import Models
from ato.settings import Settings
from tests.api.builders import API_KEY, AS_OF, OTHER_KEY, VERSION, build_app, serve
from tests.builders import make_score_request

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
WRONG_KEY = "wrong-key-0123"


async def test_every_v1_route_needs_a_key_and_keys_are_never_logged(
        settings: Settings, models: Models, log_lines: list[str]) -> None:
    app = build_app(settings, models)
    v1 = [(m, r.path) for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/v1/") for m in r.methods]
    assert {p for _, p in v1} == {"/v1/score", "/v1/actions/score", "/v1/events", "/v1/feedback", "/v1/model"}
    async with serve(app, key=None) as c:
        for method, path in v1:
            for headers in ({}, {"X-API-Key": WRONG_KEY}):
                r = await c.request(method, path, json=make_score_request(), headers=headers)
                assert r.status_code == 401 and "X-API-Key" in r.json()["message"], (method, path, headers)
        for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
            assert (await c.get(path)).status_code == 200, path
        assert (await c.get("/metrics")).status_code == 401, "metrics need a key (with the admin scope)"
        assert (await c.get("/metrics", headers={"X-API-Key": API_KEY})).status_code == 200
        for key in (API_KEY, OTHER_KEY):
            assert (await c.post("/v1/score", json=make_score_request(), headers={"X-API-Key": key})).status_code == 200
        schema = (await c.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"
    assert log_lines, "the service logged its start"
    written = "\n".join(log_lines) + "".join(p.read_text() for p in Path(settings.serving.audit_dir).rglob("*.jsonl"))
    for key in (API_KEY, OTHER_KEY, WRONG_KEY):
        assert key not in written, "an API key reached a log or the audit file"


@pytest.mark.parametrize(("body", "field"), [
    ({"ip": "20.0.1.7"}, "account_id"),
    (make_score_request(ip="not-an-ip"), "ip"),
    (make_score_request(channel="fax"), "channel"),
    (make_score_request(latitude=123.0), "latitude"),
    (make_score_request(event_time="2999-01-01T00:00:00Z"), "event_time"),
    (make_score_request(acount_id="typo"), "acount_id"),
    (make_score_request(asn=-1), "asn"),
])
async def test_malformed_requests_get_a_422_naming_the_field(
        settings: Settings, models: Models, body: dict[str, Any], field: str) -> None:
    async with serve(build_app(settings, models)) as c:
        r = await c.post("/v1/score", json=body)
    assert r.status_code == 422 and r.json()["message"].startswith(f"{field}:"), r.text


async def test_a_body_that_is_not_json_is_a_422(settings: Settings, models: Models) -> None:
    async with serve(build_app(settings, models)) as c:
        r = await c.post("/v1/score", content=b"{not json", headers={"Content-Type": "application/json"})
        wrong_type = await c.post("/v1/score", content=b"account_id=a", headers={"Content-Type": "text/plain"})
    assert r.status_code == 422 and "JSON" in r.json()["message"], r.text
    assert wrong_type.status_code == 422, wrong_type.text


async def test_model_endpoint_and_metrics_show_what_serves(settings: Settings, models: Models) -> None:
    async with serve(build_app(settings, models)) as c:
        d = (await c.post("/v1/score", json=make_score_request())).json()
        model = (await c.get("/v1/model")).json()
        ready = (await c.get("/readyz")).json()
        text = (await c.get("/metrics")).text
    assert (d["fallback_level"], d["action"], d["model_version"], d["snapshot_as_of"]) == (0, "allow", VERSION, AS_OF)
    assert model["model_version"] == VERSION and model["snapshot_as_of"] == AS_OF and model["fallback"]
    assert models.model is not None and model["features"] == len(models.model.features)
    assert (model["store"], model["breaker"]) == ("embedded", "closed")
    assert ready == {"ready": True, "level": 0, "problems": []}
    assert 'ato_score_latency_seconds_bucket{fallback_level="0",le="+Inf"} 1.0' in text
    assert 'ato_decisions_total{action="allow",fallback_level="0"} 1.0' in text
    assert f'ato_model_info{{version="{VERSION}"}} 1.0' in text
    assert "ato_snapshot_as_of_seconds 1.7859744e+09" in text, "end of 2026-08-05 (UTC)"
