"""The API under a real uvicorn: auth, 422s with messages, events feeding the speed layer,
feedback into the labels stream, the audit log (crash-safe, loaded into gold/decisions),
metrics, and hot reload of a new snapshot and a new champion without a failed request."""

from __future__ import annotations

import json
import shutil
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ato.settings import Settings
from ato.validate import check_row
from tests.serving.conftest import PARITY_DAY, Api, serving_env, start_api

pytestmark = pytest.mark.serving
T0 = "2026-08-06T12:00:00+00:00"


def login(**over: Any) -> dict[str, Any]:
    body = {"account_id": "acct_0000001", "ip": "20.0.1.7", "user_agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0",
            "device_id": "dev-test-1", "channel": "web", "outcome": "success", "event_time": T0}
    return {**body, **over}


def test_api_keys_guard_everything_but_health_and_metrics(api: Api) -> None:
    with api.client(key=None) as c:
        assert c.post("/v1/score", json=login()).status_code == 401
        assert c.get("/v1/model").status_code == 401
        assert c.post("/v1/feedback", json={}).status_code == 401
        r = c.post("/v1/score", json=login(), headers={"X-API-Key": "wrong"})
        assert r.status_code == 401 and "X-API-Key" in r.json()["message"]
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            assert c.get(path).status_code == 200, path
    with api.client(key="second-key") as c:
        assert c.post("/v1/score", json=login()).status_code == 200
    assert "wrong" not in api.log.read_text() and "second-key" not in api.log.read_text()


@pytest.mark.parametrize(("body", "field"), [
    ({"ip": "20.0.1.7"}, "account_id"),
    (login(ip="not-an-ip"), "ip"),
    (login(channel="fax"), "channel"),
    (login(latitude=123.0), "latitude"),
    (login(event_time="2999-01-01T00:00:00Z"), "event_time"),
    (login(acount_id="typo"), "acount_id"),
    (login(asn=-1), "asn"),
])
def test_malformed_requests_get_a_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    with api.client() as c:
        r = c.post("/v1/score", json=body)
    assert r.status_code == 422 and field in r.json()["message"], r.text


def test_non_json_body_is_a_422(api: Api) -> None:
    with api.client() as c:
        r = c.post("/v1/score", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_events_feed_the_speed_layer_and_the_spool(api: Api) -> None:
    ip = "203.0.113.77"
    stuffing = [{"event_id": f"ev-stuff-{i}", "event_time": f"2026-08-06T11:{30 + i}:00+00:00",
                 "account_id": f"acct_victim_{i}", "outcome": "bad_password", "ip": ip, "user_agent": "python-requests/2.31",
                 "channel": "api"} for i in range(4)]
    with api.client() as c:
        bad = c.post("/v1/events", json={"logins": [stuffing[0], {**stuffing[1], "outcome": "maybe"}]})
        assert bad.status_code == 422 and "logins[1]" in bad.json()["message"]
        ok = c.post("/v1/events", json={"logins": stuffing})
        assert ok.status_code == 200 and ok.json()["accepted"]["logins"] == 4
        r = c.post("/v1/score", json=login(ip=ip, account_id="acct_0000002", event_time=T0, explain=True))
    f = r.json()["features"]
    assert (f["ip_attempts_1h"], f["ip_failures_1h"], f["ip_accounts_1h"], f["ip_attempts_5m"]) == (4, 4, 4, 0)
    spooled = [json.loads(x) for p in (Path(api.settings.paths.spool) / "logins").rglob("*.jsonl")
               for x in p.read_text().splitlines()]
    assert [s["event_id"] for s in spooled] == [s["event_id"] for s in stuffing], "the refused batch wrote nothing"


def test_feedback_lands_in_the_labels_stream(api: Api) -> None:
    with api.client() as c:
        r = c.post("/v1/feedback", json={"account_id": "acct_0000001", "event_id": "ev-1", "label": "ato"})
        assert r.status_code == 200
        assert c.post("/v1/feedback", json={"account_id": "a", "label": "fraud"}).status_code == 422
    lines = [json.loads(x) for p in (Path(api.settings.paths.spool) / "labels").rglob("*.jsonl")
             for x in p.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["login_event_id"] == "ev-1" and lines[0]["source"] == "analyst"
    assert check_row("labels", lines[0]).ok, "what the nightly ingest will read passes the labels contract"


def test_metrics_show_latency_decisions_and_model_version(api: Api) -> None:
    with api.client() as c:
        c.post("/v1/score", json=login())
        model = c.get("/v1/model").json()
        text = c.get("/metrics").text
    assert model["model_version"] and model["snapshot_as_of"] == "2026-08-05" and model["features"] > 50
    assert 'ato_score_latency_seconds_bucket{fallback_level="0",le="0.005"}' in text
    assert 'ato_decisions_total{action="allow",fallback_level="0"}' in text
    assert f'ato_model_info{{version="{model["model_version"]}"}} 1.0' in text


def test_audit_log_keeps_every_acknowledged_decision_through_a_crash(
        serving_world: tuple[Settings, Path, Path], tmp_path: Path) -> None:
    from ato.decisions import load_decisions, read_audit

    s, world, root = serving_world
    shutil.copytree(root / "online", tmp_path / "online")
    a = start_api(serving_env(s, world, tmp_path), tmp_path)
    ids = []
    with a.client() as c:
        for i in range(40):
            r = c.post("/v1/score", json=login(account_id=f"acct_{i:07d}", event_id=f"ev-audit-{i}"))
            assert r.status_code == 200
            ids.append(r.json()["decision_id"])
    a.proc.send_signal(signal.SIGKILL)  # no shutdown hook runs
    a.proc.wait()
    today = datetime.now(UTC).date()
    table, files, bad = read_audit(a.settings, today)
    assert files == 1 and bad == 0 and sorted(table.column("decision_id").to_pylist()) == sorted(ids)
    text = "\n".join(p.read_text() for p in Path(a.settings.serving.audit_dir).rglob("*.jsonl"))
    assert "20.0.1.7" not in text and "dev-test-1" not in text, "no raw IP or device id in the audit log"
    first = load_decisions(a.settings, today)
    again = load_decisions(a.settings, today)
    assert first.rows == again.rows == 40 and first.by_level == {0: 40}
    from deltalake import DeltaTable

    gold = DeltaTable(a.settings.table_path("gold", "decisions")).to_pandas()
    assert len(gold[gold["decided_date"] == today]) == 40, "re-loading a day replaces it"
    def strict(c: str) -> None:
        raise AssertionError(f"features_json holds {c}: not strict JSON")

    feats = json.loads(gold["features_json"].iloc[0], parse_constant=strict)
    assert feats["outcome"] == "success" and None in feats.values(), "missing features are null"


def test_new_snapshot_and_new_champion_are_picked_up_without_a_failed_request(
        serving_world: tuple[Settings, Path, Path], tmp_path: Path) -> None:
    from ato.model import registry
    from ato.online.snapshot import publish

    s, world, root = serving_world
    shutil.copytree(root / "online", tmp_path / "online")
    shutil.copytree(s.paths.models, tmp_path / "models")
    env = serving_env(s, world, tmp_path, ATO_MODEL_DIR=str(tmp_path / "models"))
    a = start_api(env, tmp_path)
    first = registry.champion(a.settings)
    assert first is not None
    statuses: list[int] = []
    seen: list[tuple[str, str]] = []
    stop = threading.Event()

    def load() -> None:
        with a.client() as c:
            while not stop.is_set():
                r = c.post("/v1/score", json=login(event_time="2026-08-07T09:00:00+00:00"))
                statuses.append(r.status_code)
                if r.status_code == 200:
                    seen.append((r.json()["snapshot_as_of"], r.json()["model_version"]))

    t = threading.Thread(target=load)
    t.start()
    try:
        publish(a.settings, PARITY_DAY)
        second = f"{first}-copy"
        shutil.copytree(tmp_path / "models" / first, tmp_path / "models" / second)
        registry._set_champion(a.settings, second, "promote", "hot-reload test")
        _wait_for(lambda: (PARITY_DAY.isoformat(), second) in seen)
        registry.rollback(a.settings)
        _wait_for(lambda: seen[-1] == (PARITY_DAY.isoformat(), first))
    finally:
        stop.set()
        t.join()
        a.stop()
    assert statuses and set(statuses) == {200}, "no request failed while the service reloaded"
    assert seen[0] == ("2026-08-05", first)


def _wait_for(cond: Any, timeout: float = 20.0) -> None:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("the service did not pick up the change in time")


def test_day_folder_is_the_decision_day(tmp_path: Path) -> None:
    """The audit file of a decision made just before midnight UTC is that day's (unit)."""
    from ato.online.appender import JsonlAppender

    a = JsonlAppender(tmp_path, "decisions")
    a.append({"x": 1}, now=datetime(2026, 8, 6, 23, 59, 59, tzinfo=UTC))
    a.append({"x": 2}, now=datetime(2026, 8, 7, 0, 0, 1, tzinfo=UTC))
    a.close()
    assert [p.parent.name for p in sorted(tmp_path.rglob("*.jsonl"))] == ["2026-08-06", "2026-08-07"]
