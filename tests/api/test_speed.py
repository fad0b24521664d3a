"""The speed layer through the API in process: shed decisions and store-less decisions still see the
velocities (this process's own counters) and the rules act on them; event times outside the
server-time bounds get a 422 naming event_time; a login counts once per event id (a score and its
outcome event, a retried batch); /v1/events writes the spool before the speed layer."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ato.online.decide.models import Models
from ato.settings import Settings
from tests.api.builders import FaultyStore, api_settings, build_app, no_models, serve, tiny_store
from tests.builders import make_login, make_score_request

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
STUFFER = "198.51.100.66"
SCRIPT = "python-requests/2.31"


def stuffing(n: int = 10, minute: int = 30) -> list[dict[str, Any]]:
    """Failed logins on n accounts from one IP, a few seconds apart, from 11:30 on."""
    return [make_login(event_id=f"ev-wave-{i}", event_time=f"2026-08-06T11:{minute}:{i:02d}+00:00",
                       account_id=f"acct_wave_{i}", outcome="bad_password", ip=STUFFER, user_agent=SCRIPT,
                       channel="api", device_id=None) for i in range(n)]


def success_from_stuffer(**over: Any) -> dict[str, Any]:
    """The valid-credential login of the wave: a browser user agent, so only velocity gives it away."""
    return make_score_request(**{"account_id": "acct_0000002", "ip": STUFFER, "device_id": None,
                                 "event_time": "2026-08-06T11:45:00+00:00", **over})


def audit(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(x) for p in sorted(Path(settings.serving.audit_dir).rglob("*.jsonl"))
            for x in p.read_text().splitlines()]


def spooled(settings: Settings, stream: str) -> list[dict[str, Any]]:
    return [json.loads(x) for p in sorted((Path(settings.paths.spool) / stream).rglob("*.jsonl"))
            for x in p.read_text().splitlines()]


async def test_a_shed_decision_reads_the_local_velocities_and_the_rules_lock_the_stuffer(
        tmp_path: Path, models: Models) -> None:
    settings = api_settings(tmp_path, ATO_SERVING__MAX_IN_FLIGHT="1")
    store = FaultyStore(tiny_store(settings), "gate")
    app = build_app(settings, models, store=store)
    async with serve(app) as c:
        assert (await c.post("/v1/events", json={"logins": stuffing()})).status_code == 200
        first = asyncio.create_task(c.post("/v1/score", json=make_score_request()))
        await store.entered.wait()  # one request holds the store: the next one is shed
        shed = (await c.post("/v1/score", json=success_from_stuffer(explain=True))).json()
        store.released.set()
        await first
    assert (shed["fallback_level"], shed["model_version"], shed["action"]) == (3, "rules", "temporary_lock")
    assert any("10+ different accounts" in r for r in shed["reasons"])
    f = shed["features"]
    assert (f["ip_attempts_1h"], f["ip_failures_1h"], f["ip_accounts_1h"], f["prefix_accounts_1h"]) == (10, 10, 10, 10)
    assert f["account_attempts_24h"] == 0 and f["device_attempts_24h"] is None, "no device: missing, as in training"
    [line] = [x for x in audit(settings) if x["decision_id"] == shed["decision_id"]]
    assert line["features"]["ip_accounts_1h"] == 10, "the audit keeps what the rules saw"


@pytest.mark.parametrize("fallback", [True, False])
async def test_without_the_store_the_vector_carries_the_local_velocities(
        settings: Settings, models: Models, fallback: bool) -> None:
    store = FaultyStore(tiny_store(settings), "raise")
    chain = models if fallback else Models(models.version, models.model, None, models.rules)
    async with serve(build_app(settings, chain, store=store)) as c:
        r = await c.post("/v1/events", json={"logins": stuffing()})
        assert r.json()["speed_layer"] == "unavailable (ConnectionError)", "the store refused them"
        d = (await c.post("/v1/score", json=success_from_stuffer(explain=True))).json()
    assert d["features"]["ip_accounts_1h"] == 10 and d["features"]["logins_30d"] is None
    if fallback:
        assert d["fallback_level"] == 1
    else:
        assert (d["fallback_level"], d["action"]) == (2, "temporary_lock")


async def test_event_times_outside_the_server_time_bounds_are_refused(tmp_path: Path, models: Models) -> None:
    settings = api_settings(tmp_path, ATO_SERVING__CLOCK="system")
    now = datetime.now(UTC)

    def at(delta: timedelta) -> str:
        return (now + delta).isoformat()

    async with serve(build_app(settings, models)) as c:
        old = await c.post("/v1/score", json=make_score_request(event_time=at(-timedelta(days=8))))
        ahead = await c.post("/v1/score", json=make_score_request(event_time=at(timedelta(minutes=10))))
        fine = await c.post("/v1/score", json=make_score_request(event_time=at(timedelta(minutes=4))))
        batch = await c.post("/v1/events", json={"logins": [make_login(event_time=at(-timedelta(hours=1))),
                                                            make_login(event_time=at(-timedelta(days=9)))]})
    assert old.status_code == ahead.status_code == 422 and fine.status_code == 200, (old.text, ahead.text)
    assert old.json()["message"] == "event_time: more than 168 h before the server's time"
    assert ahead.json()["message"] == "event_time: more than 300 s after the server's time"
    assert old.json()["detail"][0]["loc"] == ["body", "event_time"]
    assert batch.status_code == 422 and batch.json()["message"].startswith("logins[1]: event_time: more than 168 h")
    assert spooled(settings, "logins") == [], "a refused batch writes nothing"


async def test_a_login_counts_once_per_event_id(settings: Settings, models: Models) -> None:
    """A scored login followed by its outcome event, and a retried /v1/events batch."""
    wave = stuffing(4)
    scored = success_from_stuffer(event_id="ev-scored", event_time="2026-08-06T11:40:00+00:00")
    outcome = make_login(**{k: v for k, v in scored.items() if k != "explain"})
    async with serve(build_app(settings, models)) as c:
        for _ in range(2):
            assert (await c.post("/v1/events", json={"logins": wave})).status_code == 200
        await c.post("/v1/score", json=scored)
        await c.post("/v1/events", json={"logins": [outcome]})
        d = (await c.post("/v1/score", json=success_from_stuffer(account_id="acct_0000001", explain=True))).json()
        metrics = (await c.get("/metrics")).text
    f = d["features"]
    assert (f["ip_attempts_1h"], f["ip_failures_1h"], f["ip_accounts_1h"]) == (5, 4, 5)
    assert len(spooled(settings, "logins")) == 9, "the spool keeps every delivery (the nightly deduplicates)"
    assert 'ato_speed_layer{what="duplicates"} 5.0' in metrics


async def test_events_reach_the_spool_before_the_speed_layer(settings: Settings, models: Models) -> None:
    app = build_app(settings, models)
    order: list[tuple[str, int]] = []
    async with serve(app) as c:
        rt = app.state.rt
        writer = rt.spool_writer("logins")
        append = writer.append

        def spy(rec: dict[str, Any], now: Any = None) -> None:
            order.append(("spool", rt.chain.local_speed.stats()["event_ids"]))
            append(rec, now)

        writer.append = spy
        assert (await c.post("/v1/events", json={"logins": stuffing(3)})).status_code == 200
    assert order == [("spool", 0)] * 3, "nothing was counted before the spool had the batch"
    assert rt.chain.local_speed.stats()["event_ids"] == 3


async def test_rules_before_any_champion_see_the_velocities_too(settings: Settings) -> None:
    async with serve(build_app(settings, no_models(settings))) as c:
        await c.post("/v1/events", json={"logins": stuffing()})
        d = (await c.post("/v1/score", json=success_from_stuffer())).json()
    assert (d["fallback_level"], d["action"]) == (2, "temporary_lock")
