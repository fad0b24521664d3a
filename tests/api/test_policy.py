"""The policy on top of the chain, through the API: guardrails fire at every level (model, fallback
model, rules, shed) and are named in the reasons, counted in /metrics and written to the audit; a
model that allows everything (`blind`) cannot let a stuffing success or a hot key through; shed
decisions read the process's velocity counters, and a shed success whose velocity is unknown is
stepped up; attack mode starts on a failure spike from one /24 and ends after it, and counts in server
time (a replayed day's rates are the recorded ones)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ato.model.actions import SEVERITY
from ato.online.decide.attack import AttackMonitor
from ato.online.decide.local_speed import LocalSpeed
from ato.online.decide.models import Models
from ato.settings import Settings
from tests.api.builders import FaultyStore, blind, build_app, no_models, serve, tiny_store
from tests.api.test_chain import audit, broken
from tests.builders import make_score_request

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
STUFFING_IP = "203.0.113.77"


def hits(metrics: str, guardrail: str, level: int) -> float:
    """ato_guardrail_hits_total for one guardrail and level (0 when absent)."""
    m = re.search(rf'ato_guardrail_hits_total{{fallback_level="{level}",guardrail="{guardrail}"}} (\S+)', metrics)
    return float(m.group(1)) if m else 0.0


def shed_everything(app: FastAPI) -> None:
    """Overload on purpose: every request from now on is over max_in_flight."""
    app.state.rt.overloaded = lambda: 10**9


async def post(c: httpx.AsyncClient, app: FastAPI, **over: Any) -> dict[str, Any]:
    r = await c.post("/v1/score", json=make_score_request(**over))
    assert r.status_code == 200, r.text
    await app.state.rt.chain.drain()  # a shed login's speed-layer write lands before the next request
    return dict(r.json())


LEVELS = {0: lambda m, s: blind(m), 1: lambda m, s: broken(blind(m)), 2: lambda m, s: no_models(s), 3: lambda m, s: blind(m)}


@pytest.mark.parametrize("level", sorted(LEVELS))
async def test_the_hot_key_guardrail_fires_at_every_level(settings: Settings, models: Models, level: int) -> None:
    """One account, IP and device, successful logins a second apart: the 11th within five minutes is
    past the documented limit (account_success_burst: 10 successes in 5 min) and is challenged, at
    whichever level decides, even by a model that allows everything."""
    app = build_app(settings, LEVELS[level](models, settings))
    async with serve(app) as c:
        if level == 3:
            shed_everything(app)
        ds = [await post(c, app, event_time=f"2026-08-06T12:00:{i:02d}+00:00") for i in range(12)]
        metrics = (await c.get("/metrics")).text
    assert {d["fallback_level"] for d in ds} == {level}
    assert [d["action"] for d in ds[:10]] == ["allow"] * 10, "under the limit: the model's (or rules') call"
    for d in ds[10:]:
        assert SEVERITY[d["action"]] >= SEVERITY["step_up_mfa"], d
        assert any(r.endswith("(guardrail account_success_burst)") for r in d["reasons"]), d["reasons"]
    assert hits(metrics, "account_success_burst", level) == 2.0
    lines = audit(settings)
    assert [x["guardrails"] for x in lines[10:]] == [["account_success_burst"]] * 2
    assert all(x["guardrails"] == [] for x in lines[:10])


async def test_six_failed_accounts_from_one_ip_then_a_success_without_device_is_not_allowed(
        settings: Settings, models: Models) -> None:
    """The issue's case: six failed logins on six accounts from one IP within 30 s, then a successful
    login on a new account from that IP with no device. The blind model allows it; the guardrail does
    not. The same login from a clean IP stays allowed."""
    app = build_app(settings, blind(models))
    async with serve(app) as c:
        for i in range(6):
            await post(c, app, account_id=f"acct_victim_{i}", ip=STUFFING_IP, device_id=None, outcome="bad_password",
                       event_time=f"2026-08-06T12:00:{i * 5:02d}+00:00")
        d = await post(c, app, account_id="acct_new_0001", ip=STUFFING_IP, device_id=None,
                       event_time="2026-08-06T12:00:31+00:00", explain=True)
        clean = await post(c, app, account_id="acct_new_0002", ip="198.51.100.4", device_id=None,
                           event_time="2026-08-06T12:00:32+00:00")
    assert (d["features"]["ip_failures_5m"], d["features"]["ip_accounts_5m"]) == (6, 6)
    assert d["fallback_level"] == 0 and d["action"] == "step_up_mfa", d
    assert d["reasons"] == ["Password accepted from an IP where 5+ accounts failed to sign in in the last 5 minutes "
                            "(guardrail failing_ip_success)"]
    assert (clean["action"], clean["reasons"]) == ("allow", [])


async def test_a_guardrail_only_raises(settings: Settings, models: Models) -> None:
    """A script user agent is already a manual review by the rules; the hot-key guardrail (step-up) keeps
    it a manual review and adds its reason after nothing is lowered."""
    app = build_app(settings, no_models(settings))
    async with serve(app) as c:
        ds = [await post(c, app, user_agent="python-requests/2.31", event_time=f"2026-08-06T12:00:{i:02d}+00:00")
              for i in range(11)]
    assert ds[-1]["action"] == "manual_review" and len(ds[-1]["reasons"]) >= 2
    assert ds[-1]["reasons"][0].endswith("(guardrail account_success_burst)")


async def test_shed_decisions_read_the_velocity_counters(settings: Settings, models: Models) -> None:
    """Ten accounts fail from one IP (scored normally), then the service sheds: the rules see the IP's
    velocity (the analysts' stuffing rule locks) and the guardrail fires too."""
    app = build_app(settings, models)
    async with serve(app) as c:
        for i in range(10):
            await post(c, app, account_id=f"acct_victim_{i}", ip=STUFFING_IP, device_id=None, outcome="bad_password",
                       event_time=f"2026-08-06T12:00:{i * 3:02d}+00:00")
        shed_everything(app)
        d = await post(c, app, account_id="acct_0000002", ip=STUFFING_IP, device_id=None,
                       event_time="2026-08-06T12:00:40+00:00", explain=True)
    assert (d["fallback_level"], d["model_version"], d["action"]) == (3, "rules", "temporary_lock")
    assert (d["features"]["ip_accounts_1h"], d["features"]["ip_failures_5m"]) == (10, 10), "the rules saw velocity"
    assert "Password accepted from an IP that tried 10+ different accounts in the last hour" in d["reasons"]
    assert audit(settings)[-1]["guardrails"] == ["failing_ip_success"]


class BrokenSpeed(LocalSpeed):
    """The process's own velocity counters, broken on purpose."""

    def features(self, login: Any, now: float) -> dict[str, float]:
        raise RuntimeError("injected")

    def record(self, login: Any, now: float) -> bool:
        raise RuntimeError("injected")


async def test_a_shed_success_with_unknown_velocity_is_stepped_up(settings: Settings, models: Models) -> None:
    """When the process's own velocity counters fail, a shed success has no velocity at all: stepped
    up, never silently allowed; a failure is left alone."""
    app = build_app(settings, models)
    async with serve(app) as c:
        app.state.rt.chain.local_speed = BrokenSpeed(settings.speed, recent=False)
        shed_everything(app)
        ok = await post(c, app)
        failed = await post(c, app, outcome="bad_password")
        metrics = (await c.get("/metrics")).text
    assert (ok["fallback_level"], ok["action"]) == (3, "step_up_mfa")
    assert ok["reasons"] == ["Password accepted while the login's velocity is unknown (guardrail velocity_unknown_success)"]
    assert (failed["fallback_level"], failed["action"]) == (3, "allow")
    assert hits(metrics, "velocity_unknown_success", 3) == 1.0


async def test_a_store_down_without_local_velocity_steps_the_fallback_success_up(
        settings: Settings, models: Models) -> None:
    store = FaultyStore(tiny_store(settings), "raise")
    app = build_app(settings, blind(models), store=store)
    async with serve(app) as c:
        app.state.rt.chain.local_speed = BrokenSpeed(settings.speed, recent=False)
        d = (await c.post("/v1/score", json=make_score_request())).json()
    assert (d["fallback_level"], d["action"]) == (1, "step_up_mfa")
    assert audit(settings)[-1]["guardrails"] == ["velocity_unknown_success"]


async def test_attack_mode_starts_on_a_failure_spike_from_one_network_and_ends_after_it(
        settings: Settings, models: Models, log_lines: list[str]) -> None:
    """25 failed logins from 25 IPs of one /24 (no IP over any per-IP limit): the /24 is flagged, the
    gauge and the trigger show it, a log line says so (by prefix hash, never an IP), and a success
    from that /24 is stepped up although the model allows it. Once the spike has decayed and the hold
    passed, attack mode ends (log line, gauge back to 0) and the same success is allowed again."""
    app = build_app(settings, blind(models))
    now = [1000.0]
    async with serve(app) as c:
        rt = app.state.rt
        rt.chain.policy.attack = AttackMonitor(settings.policy, clock=lambda: now[0], on_change=rt._attack_changed)
        for i in range(25):
            now[0] += 0.5
            await post(c, app, account_id=f"acct_victim_{i}", ip=f"198.51.100.{i + 1}", device_id=None,
                       outcome="bad_password", event_time=f"2026-08-06T12:00:{i:02d}+00:00")
        during = await post(c, app, account_id="acct_0000002", ip="198.51.100.200", device_id="dev-bot-1",
                            event_time="2026-08-06T12:00:30+00:00")
        on = (await c.get("/metrics")).text
        model = (await c.get("/v1/model")).json()
        now[0] += 3600
        rt.chain.policy.attack.tick()
        off = (await c.get("/metrics")).text
        after = await post(c, app, account_id="acct_0000002", ip="198.51.100.201", device_id="dev-bot-1",
                           event_time="2026-08-06T12:00:31+00:00")
    assert (during["action"], during["reasons"]) == ("step_up_mfa", [
        "Password accepted from a network (/24 or ASN) that attack mode flagged for a failure spike "
        "(guardrail attack_network_success)"])
    assert (after["action"], after["reasons"]) == ("allow", [])
    [trigger] = model["attack_mode"]["networks"]
    assert trigger.startswith("prefix:") and model["attack_mode"]["on"] and not model["attack_mode"]["global"]
    assert "ato_attack_mode 1.0" in on and f'ato_attack_trigger{{trigger="{trigger}"}} 1.0' in on
    assert "ato_attack_mode 0.0" in off and trigger not in off
    text = "\n".join(log_lines)
    assert f"network {trigger} flagged" in text and "attack mode started" in text
    assert "attack mode ended" in text and f"network {trigger} released" in text
    assert "198.51.100" not in text, "logs name networks by their pseudonymized prefix, never by IP"



async def test_attack_mode_counts_in_server_time_under_a_replayed_clock(settings: Settings, models: Models) -> None:
    """With `serving.clock: replay` (the tests' clock) attack mode decays by the replayed events' time:
    25 failures from one /24 spread over 2 hours of event time are no spike, however fast they are sent;
    the same 25 within 25 seconds of event time are."""
    async def flagged(minutes_apart: float, net: str) -> bool:
        app = build_app(settings, blind(models))
        async with serve(app) as c:
            for i in range(25):
                t = 12 * 3600 + i * minutes_apart * 60
                await post(c, app, account_id=f"acct_victim_{i}", ip=f"{net}.{i + 1}", device_id=None,
                           outcome="bad_password",
                           event_time=f"2026-08-06T{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{int(t % 60):02d}+00:00")
            return bool((await c.get("/v1/model")).json()["attack_mode"]["networks"])

    assert not await flagged(5.0, "198.51.100")
    assert await flagged(1 / 60, "198.51.101")
