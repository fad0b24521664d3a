"""The decision chain's levels through the API, with faults injected on purpose: 0 the model, 1 the
fallback model when the store refuses or stalls (then the breaker opens) or the model breaks, 2 the
rules when no model can answer, 3 shed to the rules while too many requests are in flight. Every
well-formed request gets a 200 and an audit line saying which level answered."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest

from ato.features.columns import ACCOUNT_FEATURES
from ato.online.decide.enrich import Enriched, Enricher
from ato.online.decide.models import Models
from ato.settings import Settings
from serving.app import create_app
from tests.api.builders import (
    API_KEY,
    VERSION,
    FaultyStore,
    api_settings,
    bare_enricher,
    build_app,
    no_models,
    serve,
    tiny_store,
)
from tests.builders import make_score_request

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
SCRIPT = "python-requests/2.31"


def audit(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(x) for p in sorted(Path(settings.serving.audit_dir).rglob("*.jsonl"))
            for x in p.read_text().splitlines()]


def broken(models: Models, *, fallback: bool = True) -> Models:
    """The champion with a primary model that raises when it scores."""
    assert models.model is not None
    return Models(VERSION, dataclasses.replace(models.model, booster=object()),
                  models.fallback if fallback else None, models.rules)


def known(features: dict[str, Any]) -> set[str]:
    return {k for k, v in features.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}


async def test_level_0_the_model_on_the_full_vector(settings: Settings, models: Models) -> None:
    async with serve(build_app(settings, models)) as c:
        d = (await c.post("/v1/score", json=make_score_request(explain=True))).json()
    assert (d["fallback_level"], d["model_version"], d["action"]) == (0, VERSION, "allow")
    assert d["features"]["logins_30d"] == 3.0 and d["features"]["new_device"] == 0, "snapshot and history used"
    [line] = audit(settings)
    assert (line["fallback_level"], line["store_error"], line["decision_id"]) == (0, None, d["decision_id"])
    assert line["ip_hash"] and "20.0.1.7" not in json.dumps(line), "pseudonymized ids only"


@pytest.mark.parametrize("spelling", ["020.000.001.007", "::ffff:20.0.1.7", "::FFFF:1400:107", " 20.0.1.7"])
async def test_another_spelling_of_a_known_ip_is_the_same_ip(settings: Settings, models: Models, spelling: str) -> None:
    """The snapshot knows 20.0.1.7 (silver hashed its normalized text); the API normalizes too, so
    leading zeros or an IPv4-mapped IPv6 address are not a new IP, and nowhere is the raw text kept."""
    async with serve(build_app(settings, models)) as c:
        plain = (await c.post("/v1/score", json=make_score_request(explain=True))).json()
        other = (await c.post("/v1/score", json=make_score_request(explain=True, ip=spelling))).json()
    assert plain["features"]["new_ip"] == other["features"]["new_ip"] == 0
    first, second = audit(settings)
    assert first["ip_hash"] == second["ip_hash"] and spelling.strip() not in json.dumps(second)


async def test_level_1_when_the_store_refuses_then_the_breaker_opens(settings: Settings, models: Models) -> None:
    store = FaultyStore(tiny_store(settings), "raise")
    failures = settings.serving.breaker_failures
    async with serve(build_app(settings, models, store=store)) as c:
        ds = [(await c.post("/v1/score", json=make_score_request(explain=True))).json() for _ in range(failures + 2)]
        model = (await c.get("/v1/model")).json()
        metrics = (await c.get("/metrics")).text
    assert {(d["fallback_level"], d["model_version"]) for d in ds} == {(1, f"{VERSION}/fallback")}
    assert store.lookups == failures, "once the breaker is open, the store is not called"
    assert [x["store_error"] for x in audit(settings)] == ["ConnectionError"] * failures + ["BreakerOpen"] * 2
    assert model["breaker"] == "open"
    assert known(ds[0]["features"]).isdisjoint(ACCOUNT_FEATURES), "the fallback saw the request alone"
    assert f'ato_store_errors_total{{error="ConnectionError"}} {failures}.0' in metrics


async def test_with_a_snapshot_replica_a_store_failure_still_gets_the_model(settings: Settings,
                                                                            models: Models) -> None:
    """With a shared store that refuses, the worker's replica of the published snapshot keeps the
    primary model deciding (level 0, the store error recorded) on the account's history and the
    worker's own velocities: the second login sees the first, which the replica's counters recorded."""
    store = FaultyStore(tiny_store(settings), "raise")
    app = create_app(settings, models=models, store=store, enricher=bare_enricher(settings),
                     api_keys={API_KEY}, replica=tiny_store(settings))
    async with serve(app) as c:
        ds = [(await c.post("/v1/score", json=make_score_request(explain=True, event_time=f"2026-08-06T12:00:0{i}Z")))
              .json() for i in range(2)]
        ev = (await c.post("/v1/events", json={"logins": [make_score_request(event_id="ev-1")]})).json()
    assert ev["speed_layer"].startswith("unavailable"), "the replica's counters are not the shared store"
    assert {(d["fallback_level"], d["model_version"]) for d in ds} == {(0, VERSION)}
    assert ds[0]["features"]["logins_30d"] == 3.0 and ds[0]["features"]["new_device"] == 0, "the replica's rows"
    assert [d["features"]["account_attempts_5m"] for d in ds] == [0.0, 1.0], "this worker's own counts"
    assert [x["store_error"] for x in audit(settings)] == ["ConnectionError", "ConnectionError"]


async def test_a_failing_replica_refresh_does_not_hold_back_the_stores(settings: Settings, models: Models) -> None:
    """The reload cycle goes on past a replica that cannot load: the shared store still refreshes,
    the old replica keeps serving."""
    from ato.online.decide.store import EmbeddedStore

    class BrokenReplica(EmbeddedStore):
        async def refresh(self) -> bool:
            raise OSError("injected: the replica's files are unreadable")

    class CountingStore(FaultyStore):
        refreshed = 0

        async def refresh(self) -> bool:
            self.refreshed += 1
            return False

    store, replica = CountingStore(tiny_store(settings), "none"), tiny_store(settings)
    replica.__class__ = BrokenReplica
    app = create_app(settings, models=models, store=store, enricher=bare_enricher(settings),
                     api_keys={API_KEY}, replica=replica)
    async with serve(app) as c:
        before = store.refreshed
        assert await app.state.rt.reload() == []
        d = (await c.post("/v1/score", json=make_score_request())).json()
    assert store.refreshed == before + 1, "the store's refresh ran although the replica's failed"
    assert (d["fallback_level"], d["model_version"]) == (0, VERSION)


async def test_a_replica_vector_gets_the_model_even_when_the_store_timeout_ate_the_budget(tmp_path: Path,
                                                                                        models: Models) -> None:
    """The store stalls past budget - MODEL_RESERVE_S: without a replica that is the fallback's turn;
    the replica's vector is in process, so the model still answers it."""
    settings = api_settings(tmp_path, ATO_SERVING__BUDGET_MS="10", ATO_SERVING__STORE_TIMEOUT_MS="9")
    app = create_app(settings, models=models, store=FaultyStore(tiny_store(settings), "stall"),
                     enricher=bare_enricher(settings), api_keys={API_KEY}, replica=tiny_store(settings))
    async with serve(app) as c:
        d = (await c.post("/v1/score", json=make_score_request())).json()
    assert (d["fallback_level"], d["model_version"]) == (0, VERSION)
    assert [x["store_error"] for x in audit(settings)] == ["TimeoutError"]


async def test_a_shed_login_with_a_snapshot_replica_gets_the_model_on_its_rows(settings: Settings,
                                                                              models: Models) -> None:
    """Overloaded, with a replica: the shed login skips the shared store, yet the model decides on the
    replica's rows and this worker's counts (level 3, the model's version, not the rules), and the
    login still goes into the shared store afterwards."""
    from tests.api.test_policy import shed_everything

    store = FaultyStore(tiny_store(settings), "none")  # a shared store that works
    app = create_app(settings, models=models, store=store, enricher=bare_enricher(settings),
                     api_keys={API_KEY}, replica=tiny_store(settings))
    async with serve(app) as c:
        shed_everything(app)
        ds = [(await c.post("/v1/score", json=make_score_request(explain=True, event_time=f"2026-08-06T12:00:0{i}Z")))
              .json() for i in range(2)]
        await app.state.rt.chain.drain()  # the shed logins' speed-layer writes
    assert {(d["fallback_level"], d["model_version"]) for d in ds} == {(3, VERSION)}
    assert ds[0]["features"]["logins_30d"] == 3.0 and ds[0]["features"]["new_device"] == 0, "the replica's rows"
    assert [d["features"]["account_attempts_5m"] for d in ds] == [0.0, 1.0], "this worker's own counts"
    assert store.lookups == 0 and store.recorded == 2, "the shared store skipped, yet told of both logins"
    assert [x["store_error"] for x in audit(settings)] == [None, None]


async def test_level_1_when_the_store_never_answers(tmp_path: Path, models: Models) -> None:
    settings = api_settings(tmp_path, ATO_SERVING__STORE_TIMEOUT_MS="50")
    store = FaultyStore(tiny_store(settings), "stall")
    async with serve(build_app(settings, models, store=store)) as c:
        d = (await c.post("/v1/score", json=make_score_request())).json()
    assert (d["fallback_level"], d["model_version"]) == (1, f"{VERSION}/fallback")
    assert [x["store_error"] for x in audit(settings)] == ["TimeoutError"]


async def test_a_late_answer_closes_the_breaker_a_stalled_store_keeps_it_open(tmp_path: Path,
                                                                              models: Models) -> None:
    """The breaker opens after one timeout (breaker_failures 1); when that lookup still answers, the
    store is up (only slow): the next login tries it again. A lookup that never answers keeps it open."""
    settings = api_settings(tmp_path, ATO_SERVING__STORE_TIMEOUT_MS="5", ATO_SERVING__BREAKER_FAILURES="1",
                            ATO_SERVING__BREAKER_OPEN_S="3600")
    store = FaultyStore(tiny_store(settings), "gate")
    async with serve(build_app(settings, models, store=store)) as c:
        await c.post("/v1/score", json=make_score_request())
        await c.post("/v1/score", json=make_score_request())
        assert store.lookups == 1, "open after the timeout: the second login skipped the store"
        store.released.set()
        for _ in range(100):
            if store.finished:
                break
            await asyncio.sleep(0.01)
        assert store.finished == 1
        d = (await c.post("/v1/score", json=make_score_request())).json()
    assert store.lookups == 2 and d["fallback_level"] == 0, "the late answer closed the breaker"
    assert [x["store_error"] for x in audit(settings)] == ["TimeoutError", "BreakerOpen", None]


async def test_a_timed_out_lookup_finishes_in_the_background_and_late_ones_are_bounded(tmp_path: Path,
                                                                                      models: Models) -> None:
    """A lookup past its timeout is not cancelled (cancelling a Redis read drops the connection and
    can half-write the login): the request decides at level 1, the lookup still finishes; once
    MAX_LATE_LOOKUPS are under way the store is skipped (StoreBusyError) instead of queueing more."""
    from ato.online.decide.breaker import MAX_LATE_LOOKUPS

    settings = api_settings(tmp_path, ATO_SERVING__STORE_TIMEOUT_MS="5", ATO_SERVING__BREAKER_FAILURES="1000")
    store = FaultyStore(tiny_store(settings), "gate")
    async with serve(build_app(settings, models, store=store)) as c:
        first = (await c.post("/v1/score", json=make_score_request())).json()
        assert first["fallback_level"] == 1 and store.lookups == 1 and store.finished == 0
        store.released.set()
        for _ in range(100):  # the abandoned lookup completes on the server's loop
            if store.finished:
                break
            await asyncio.sleep(0.01)
        assert store.finished == 1, "the timed-out lookup was cancelled instead of finished"
        store.released.clear()
        ds = [(await c.post("/v1/score", json=make_score_request())).json() for _ in range(MAX_LATE_LOOKUPS + 2)]
        assert {d["fallback_level"] for d in ds} == {1}
        assert store.lookups == 1 + MAX_LATE_LOOKUPS, "no store call past the bound"
        store.released.set()
    errors = [x["store_error"] for x in audit(settings)]
    assert errors[-2:] == ["StoreBusyError"] * 2 and errors[:-2] == ["TimeoutError"] * (1 + MAX_LATE_LOOKUPS)


async def test_level_1_when_the_model_breaks_and_2_without_a_fallback(settings: Settings, models: Models) -> None:
    async with serve(build_app(settings, broken(models))) as c:
        one = (await c.post("/v1/score", json=make_score_request(explain=True))).json()
    async with serve(build_app(settings, broken(models, fallback=False))) as c:
        two = (await c.post("/v1/score", json=make_score_request(user_agent=SCRIPT))).json()
    assert (one["fallback_level"], one["model_version"]) == (1, f"{VERSION}/fallback")
    seen = known(one["features"])
    assert seen.isdisjoint(ACCOUNT_FEATURES) and "new_device" not in seen, "no snapshot or history for the fallback"
    assert {"account_attempts_5m", "ip_failures_1h", "outcome", "ua_major"} <= seen, "the store's velocities and the request"
    assert (two["fallback_level"], two["model_version"], two["action"]) == (2, "rules", "manual_review")


async def test_level_2_the_rules_before_any_champion(settings: Settings) -> None:
    async with serve(build_app(settings, no_models(settings))) as c:
        script = (await c.post("/v1/score", json=make_score_request(user_agent=SCRIPT))).json()
        human = (await c.post("/v1/score", json=make_score_request())).json()
        ready = await c.get("/readyz")
    assert (script["fallback_level"], script["model_version"], script["action"]) == (2, "rules", "manual_review")
    assert script["reasons"] and "script" in script["reasons"][0]
    assert (human["fallback_level"], human["action"], human["reasons"]) == (2, "allow", [])
    assert ready.status_code == 503 and ready.json()["problems"] == ["no champion model (run `ato train --promote`)"]


async def test_a_broken_chain_still_answers_from_the_rules(settings: Settings, models: Models) -> None:
    class Broken(Enricher):
        def enrich(self, *args: Any, **kwargs: Any) -> Enriched:
            raise ValueError("injected")

    async with serve(build_app(settings, models, enricher=Broken(settings, None, None))) as c:
        r = await c.post("/v1/score", json=make_score_request())
    assert r.status_code == 200 and (r.json()["fallback_level"], r.json()["model_version"]) == (2, "rules")
    assert [x["store_error"] for x in audit(settings)] == ["ChainFailed"]


async def test_level_3_shed_while_too_many_requests_are_in_flight(tmp_path: Path, models: Models) -> None:
    """One request holds the store (gated) while a second arrives: over max_in_flight=1, it is shed to
    the rules at once, and its login still counts in the speed layer."""
    settings = api_settings(tmp_path, ATO_SERVING__MAX_IN_FLIGHT="1")
    store = FaultyStore(tiny_store(settings), "gate")
    app = build_app(settings, models, store=store)
    stuffing_ip = "198.51.100.9"
    async with serve(app) as c:
        first = asyncio.create_task(c.post("/v1/score", json=make_score_request()))
        await store.entered.wait()  # the first request is in flight, inside the store
        shed = (await c.post("/v1/score", json=make_score_request(
            account_id="acct_0000002", ip=stuffing_ip, user_agent=SCRIPT))).json()
        store.released.set()
        held = (await first).json()
        await app.state.rt.chain.drain()  # the shed login's speed-layer write
        later = (await c.post("/v1/score", json=make_score_request(
            account_id="acct_0000002", ip=stuffing_ip, event_time="2026-08-06T12:01:00+00:00", explain=True))).json()
    assert (shed["fallback_level"], shed["model_version"], shed["action"]) == (3, "rules", "manual_review")
    assert held["fallback_level"] == 0 and later["fallback_level"] == 0
    assert later["features"]["ip_attempts_5m"] == 1, "the shed login counts in the speed layer"
