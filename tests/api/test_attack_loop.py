"""Attack mode and the degraded levels, through the API: logins reported on /v1/events feed attack mode
(a /24 spike flags the network, a spread wave starts the global signal), once per event id; while the
global signal is on, a success decided at a degraded level (fallback model, rules, shed) from an IP
that failed is stepped up and one at level 0 is not; an ASN is flagged only when the reputation feed
files its IPs as a datacenter's; with the store down, a worker of N reads its own IP and /24 counts
times N."""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi import FastAPI

from ato.model.actions import SEVERITY
from ato.online.decide.enrich import Enricher
from ato.online.decide.models import Models
from ato.settings import Settings
from tests.api.builders import FaultyStore, api_settings, blind, build_app, serve, tiny_store
from tests.api.test_chain import audit
from tests.api.test_policy import LEVELS, post, shed_everything
from tests.builders import make_login, make_reputation

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
T0 = 12 * 3600  # 12:00 on the test day


def at(seconds: float) -> str:
    """An RFC 3339 time on the test day, `seconds` after midnight."""
    return f"2026-08-06T{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}:{seconds % 60:06.3f}+00:00"


def failures(ips: list[str], start: float, step: float = 0.5, **over: Any) -> list[dict[str, Any]]:
    """Failed logins on one account each, from `ips` in turn, `step` seconds apart (no ASN unless given)."""
    return [make_login(event_id=f"ev-fail-{start}-{i}", event_time=at(start + i * step), account_id=f"acct_victim_{i}",
                       **{"outcome": "bad_password", "ip": ip, "device_id": None, "asn": None, **over})
            for i, ip in enumerate(ips)]


async def report(c: httpx.AsyncClient, logins: list[dict[str, Any]]) -> None:
    r = await c.post("/v1/events", json={"logins": logins})
    assert r.status_code == 200 and r.json()["speed_layer"] == "ok", r.text


async def attack_doc(c: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await c.get("/v1/model")).json()["attack_mode"])


async def test_failures_reported_on_events_flag_their_network_and_its_next_success_is_stepped_up(
        settings: Settings, models: Models) -> None:
    """25 failed logins from 25 IPs of one /24, sent only through /v1/events (none scored): the /24 is
    flagged, and a success from another IP of that /24 on a device new to the account is stepped up
    although the model allows it; the owner's own device there is left to the model (new_place 0)."""
    app = build_app(settings, blind(models))
    async with serve(app) as c:
        clean = await post(c, app, account_id="acct_0000002", ip="198.51.100.200", device_id="dev-bot-1",
                           event_time=at(T0))
        await report(c, failures([f"198.51.100.{i + 1}" for i in range(25)], T0 + 1))
        doc = await attack_doc(c)
        d = await post(c, app, account_id="acct_0000002", ip="198.51.100.201", device_id="dev-bot-2",
                       event_time=at(T0 + 30))
        owner = await post(c, app, account_id="acct_0000002", ip="198.51.100.202", device_id="dev-test-2",
                           event_time=at(T0 + 31))
    assert (clean["action"], doc["on"], doc["global"]) == ("allow", True, False)
    assert [n.split(":")[0] for n in doc["networks"]] == ["prefix"]
    assert (d["fallback_level"], d["action"]) == (0, "step_up_mfa")
    assert audit(settings)[-2]["guardrails"] == ["attack_network_success"]
    assert (owner["action"], audit(settings)[-1]["guardrails"]) == ("allow", []), "the owner's own phone"


async def test_a_login_scored_and_reported_again_counts_once(settings: Settings, models: Models) -> None:
    app = build_app(settings, blind(models))
    async with serve(app) as c:
        monitor = app.state.rt.chain.policy.attack
        await post(c, app, event_id="ev-1", outcome="bad_password", event_time=at(T0))
        scored = monitor.attempts
        await report(c, [make_login(event_id="ev-1", event_time=at(T0), outcome="bad_password")])
        again = monitor.attempts
        await report(c, [make_login(event_id="ev-2", event_time=at(T0), outcome="bad_password")])
    assert (scored, again, monitor.attempts) == (1.0, 1.0, 2.0)
    assert (monitor.failures, monitor.ip_known) == (2.0, 1.0), "a reported event's new-IP status is unknown"


async def global_wave(c: httpx.AsyncClient) -> None:
    """250 failed logins from 250 /24s (no network over its floor), reported in 25 s: the global signal."""
    await report(c, failures([f"198.{18 + i // 200}.{i % 200}.9" for i in range(250)], T0, step=0.1))


@pytest.mark.parametrize("level", sorted(LEVELS))
async def test_during_a_global_attack_a_degraded_success_from_a_failing_ip_is_stepped_up(
        settings: Settings, models: Models, level: int) -> None:
    """The wave arrives on /v1/events; then failures on three accounts from an IP (reported too) and a
    success from it on another account. At levels 1, 2, 3 it is stepped up (attack_degraded_failing_ip); at level 0
    the model on the full vector decides (a blind model: allow). A success from an IP without failures
    is left to whichever level decides."""
    app = build_app(settings, LEVELS[level](models, settings))
    async with serve(app) as c:
        await global_wave(c)
        doc = await attack_doc(c)
        if level == 3:
            shed_everything(app)
        await report(c, failures(["203.0.113.50"] * 3, T0 + 30, step=0.1))
        d = await post(c, app, account_id="acct_0000002", ip="203.0.113.51", device_id="dev-test-2",
                       event_time=at(T0 + 31))
        seen = await post(c, app, account_id="acct_0000001", ip="203.0.113.50", device_id="dev-test-1",
                          event_time=at(T0 + 32))
    assert (doc["on"], doc["global"], doc["networks"]) == (True, True, [])
    assert d["fallback_level"] == seen["fallback_level"] == level
    assert "attack_degraded_failing_ip" not in audit(settings)[-2]["guardrails"]
    if level == 0:
        assert (seen["action"], audit(settings)[-1]["guardrails"]) == ("allow", [])
    else:
        assert SEVERITY[seen["action"]] >= SEVERITY["step_up_mfa"]
        assert "attack_degraded_failing_ip" in audit(settings)[-1]["guardrails"]
        assert any(r.endswith("(guardrail attack_degraded_failing_ip)") for r in seen["reasons"])


async def stuffing_then_success(app: FastAPI) -> dict[str, Any]:
    """Store down: three accounts fail from one IP (scored at level 1), then a success from it."""
    async with serve(app) as c:
        for i in range(3):
            await post(c, app, account_id=f"acct_victim_{i}", ip="203.0.113.77", device_id=None,
                       outcome="bad_password", event_time=at(T0 + i))
        return await post(c, app, account_id="acct_0000002", ip="203.0.113.77", device_id=None,
                          event_time=at(T0 + 10), explain=True)


@pytest.mark.parametrize("workers", [1, 2])
async def test_with_the_store_down_a_worker_of_n_reads_its_own_counts_times_n(
        settings: Settings, models: Models, workers: int, tmp_path: Any) -> None:
    """One worker of two saw 3 failures on 3 accounts from an IP: about 6 in all, past failing_ip_success
    (5 failures, 5 accounts in 5 minutes), so the fallback's success is stepped up; a lone worker saw
    all there was (3) and allows it. The decision's own vector keeps the counts as counted."""
    s = api_settings(tmp_path / f"w{workers}", ATO_SERVING__WORKERS=str(workers))
    assert s.serving.workers == workers
    d = await stuffing_then_success(build_app(s, blind(models), store=FaultyStore(tiny_store(s), "raise")))
    assert d["fallback_level"] == 1 and (d["features"]["ip_failures_5m"], d["features"]["ip_accounts_5m"]) == (3, 3)
    if workers == 2:
        assert d["action"] == "step_up_mfa" and audit(s)[-1]["guardrails"] == ["failing_ip_success"]
    else:
        assert (d["action"], audit(s)[-1]["guardrails"]) == ("allow", [])


@pytest.mark.parametrize("hosting", [True, False])
async def test_an_asn_is_flagged_only_when_its_ips_are_a_datacenters(settings: Settings, models: Models,
                                                                     hosting: bool) -> None:
    """150 failures from 75 /24s of one ASN (2 per /24, none near a /24's limit), reported on /v1/events:
    a success on a device new to the account from another /24 of that ASN is stepped up when the feed
    files the range as hosting, and allowed when it is not in the feed (a residential ISP's customers)."""
    rep = pd.DataFrame([make_reputation(network="203.0.0.0/16", category="hosting")]) if hosting else None
    app = build_app(settings, blind(models), enricher=Enricher(settings, None, rep))
    async with serve(app) as c:
        ips = [f"203.0.{k // 2}.{k % 2 + 1}" for k in range(150)]
        wave = failures(ips, T0, step=0.02, asn=64500)
        for i in range(0, len(wave), 50):
            await report(c, wave[i:i + 50])
        doc = await attack_doc(c)
        d = await post(c, app, account_id="acct_0000002", ip="203.0.200.9", device_id="dev-bot-1", asn=64500,
                       event_time=at(T0 + 5))
    assert doc["global"] is False
    if hosting:
        assert [n for n in doc["networks"] if n.startswith("asn:")] == ["asn:64500"]
        assert (d["action"], audit(settings)[-1]["guardrails"]) == ("step_up_mfa", ["attack_network_success"])
    else:
        assert doc["networks"] == [] or doc["networks"] == {}
        assert (d["action"], audit(settings)[-1]["guardrails"]) == ("allow", [])
