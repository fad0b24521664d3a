"""Redis for real: a store stalled (SIGSTOP) and then killed still gets every well-formed request a
200 from the model on the worker's snapshot replica (the fallback model without one: `tests/api`),
and the store's own answers come back when it does; two API processes on
one Redis share the speed layer; `ato serve --workers 2` starts and sums its workers' metrics.
(The chain's levels with faults injected in process, and shedding, are in `tests/api`.)"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_py

from ato.settings import Settings, load_settings
from serving.metrics import MULTIPROC_ENV
from tests.api.builders import API_KEY
from tests.builders import make_score_request
from tests.serving.conftest import (
    TLS,
    Api,
    Redis,
    free_port,
    get,
    serving_env,
    start_api,
    start_redis,
    stop,
    wait_until,
)

pytestmark = [pytest.mark.serving, pytest.mark.spark]
# A stalled Redis never answers, so any timeout catches it; a healthy local one answers in well
# under a millisecond, so this one (four orders of magnitude above) never fires on a healthy store.
STORE_TIMEOUT_MS = 2000


def score_many(a: Api, n: int, workers: int = 4) -> list[tuple[int, dict[str, Any]]]:
    """n concurrent /v1/score calls: (status, body)."""

    def one(i: int) -> tuple[int, dict[str, Any]]:
        with a.client() as c:
            r = c.post("/v1/score", json=make_score_request(account_id=f"acct_{i % 50:07d}"))
            return r.status_code, r.json()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(n)))


def store_answers(a: Api) -> bool:
    """A login scored at level 0 and the breaker closed after it: the store answered it."""
    with a.client() as c:
        level = c.post("/v1/score", json=make_score_request()).json()["fallback_level"]
        return level == 0 and c.get("/v1/model").json()["breaker"] == "closed"


def test_stalled_then_killed_redis_store_falls_back_and_recovers(
        serving_world: tuple[Settings, Path, Path], tmp_path: Path) -> None:
    from ato.online.snapshot.redis import publish_to_redis

    s, world, root = serving_world
    redis = start_redis(tmp_path / "redis")
    try:
        shutil.copytree(root / "online", tmp_path / "online")
        env = serving_env(s, world, tmp_path, ATO_STORE="redis", ATO_REDIS_URL=redis.url,
                          ATO_SERVING__BUDGET_MS=str(2 * STORE_TIMEOUT_MS),
                          ATO_SERVING__STORE_TIMEOUT_MS=str(STORE_TIMEOUT_MS),
                          ATO_SERVING__BREAKER_FAILURES="3", ATO_SERVING__BREAKER_OPEN_S="1")
        publish_to_redis(load_settings(environ=env))
        a = start_api(env, tmp_path)
        try:
            healthy = score_many(a, 20)
            assert [(st, b["fallback_level"]) for st, b in healthy] == [(200, 0)] * 20

            redis.stall()  # the store accepts connections but never answers
            stalled = score_many(a, 12)
            assert {st for st, _ in stalled} == {200}
            # the worker's replica of the published snapshot keeps the model deciding (level 0)
            assert {(b["fallback_level"], b["model_version"]) for _, b in stalled} == {
                (0, healthy[0][1]["model_version"])}
            with a.client() as c:
                m = c.get("/v1/model").json()
                metrics = c.get("/metrics").text
            assert m["breaker"] in ("open", "half_open"), "three failures in a row opened it; no success closed it"
            assert 'ato_store_errors_total{error="TimeoutError"}' in metrics

            redis.resume()
            wait_until(lambda: store_answers(a), 120, "the store's own answers back once it answers")

            stop(redis.proc)  # killed: connections refused
            killed = score_many(a, 10)
            assert {st for st, _ in killed} == {200} and all(b["fallback_level"] == 0 for _, b in killed)
            with a.client() as c:
                ready = c.get("/readyz")
                ev = c.post("/v1/events", json={"logins": [{
                    "event_id": "ev-store-down", "event_time": "2026-08-06T12:30:00+00:00", "account_id": "acct_0000001",
                    "outcome": "success", "ip": "20.0.1.7", "user_agent": "curl/8", "channel": "api"}]})
            assert ready.status_code == 200, "ready means can decide: the model still answers on the replica"
            assert ready.json()["level"] == 0 and "snapshot replica" in " ".join(ready.json()["problems"])
            assert ev.status_code == 200 and ev.json()["speed_layer"].startswith("unavailable"), ev.text
            audited = [json.loads(x) for p in (tmp_path / "audit").rglob("*decisions-*.jsonl")
                       for x in p.read_text().splitlines()]
            degraded = [x for x in audited if x["store_error"]]
            assert len(degraded) >= 22 and {x["fallback_level"] for x in degraded} == {0}
            assert {x["store_error"] for x in degraded} >= {"TimeoutError", "BreakerOpen"}
            spooled = "".join(p.read_text() for p in (tmp_path / "spool" / "logins").rglob("*.jsonl"))
            assert "ev-store-down" in spooled, "with the store down, events still reach the spool"
        finally:
            a.stop()
            print(f"api log tail:\n{a.log.read_text()[-3000:]}")
    finally:
        stop(redis.proc)


def _publish(env: dict[str, str], redis: Redis) -> None:
    from ato.online.snapshot.redis import publish_to_redis

    redis_py.Redis.from_url(redis.url).flushdb()
    assert publish_to_redis(load_settings(environ=env))["as_of"] == "2026-08-05"


def test_two_api_processes_share_the_speed_layer_through_redis(
        serving_world: tuple[Settings, Path, Path], redis_server: Redis, tmp_path: Path) -> None:
    """Logins alternate between two single-worker processes on one Redis: each login, whichever
    process takes it, sees every earlier one."""
    s, world, root = serving_world
    shutil.copytree(root / "online", tmp_path / "online")
    env = serving_env(s, world, tmp_path, ATO_STORE="redis", ATO_REDIS_URL=redis_server.url)
    _publish(env, redis_server)
    apis = [start_api(env, tmp_path), start_api(env, tmp_path)]
    try:
        seen = []
        for i in range(12):
            b = apis[i % 2].post("/v1/score", make_score_request(
                ip="203.0.113.5", outcome="bad_password", explain=True, event_time=f"2026-08-06T12:00:{i:02d}+00:00"))
            seen.append((b["fallback_level"], b["features"]["ip_attempts_5m"], b["features"]["ip_failures_5m"]))
    finally:
        for a in apis:
            a.stop()
    assert seen == [(0, float(i), float(i)) for i in range(12)], "each login sees every earlier one"
    per_process = sorted(len(p.read_text().splitlines()) for p in (tmp_path / "audit").rglob("*decisions-*.jsonl"))
    assert per_process == [6, 6], "each process answered (and audited) its half"


def new_connections(url: str, root: Path, n: int = 32) -> set[int]:
    """One login on each of `n` new connections; the pids of every worker that ever audited one."""
    for _ in range(n):
        with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=60, verify=TLS) as c:
            assert c.post("/v1/score", json=make_score_request()).status_code == 200
    return {int(p.stem.rsplit("-", 1)[1]) for p in (root / "audit").rglob("*decisions-*.jsonl")}


def test_ato_serve_runs_two_workers_on_redis(serving_world: tuple[Settings, Path, Path], redis_server: Redis,
                                            tmp_path: Path) -> None:
    """`ato publish --to redis` then `ato serve --workers 2`: the service starts, answers, and its
    metrics sum over the workers (whichever worker took the request). Each worker has its own socket
    (SO_REUSEPORT): 32 new connections reach both (all on one has odds 2^-31); a killed worker is
    replaced, the service keeps answering and the dead one's live gauges leave /metrics; the
    workers' metric files go once the service stops."""
    s, world, root = serving_world
    shutil.copytree(root / "online", tmp_path / "online")
    env = serving_env(s, world, tmp_path, ATO_STORE="redis", ATO_REDIS_URL=redis_server.url)
    (tmp_path / "tmp").mkdir()  # the service's temporary files (the workers' metric files)
    full = {k: v for k, v in os.environ.items() if not k.startswith("ATO_") and k != MULTIPROC_ENV} | env
    full["TMPDIR"] = str(tmp_path / "tmp")
    redis_py.Redis.from_url(redis_server.url).flushdb()
    ato = str(Path(sys.executable).parent / "ato")
    out = subprocess.run([ato, "publish", "--to", "redis"], env=full, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "loaded snapshot 2026-08-05" in out.stdout, out.stderr[-2000:]
    port = free_port()
    proc = subprocess.Popen([ato, "serve", "--port", str(port), "--workers", "2"], env=full,
                            stdout=(tmp_path / "serve.log").open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(url + "/readyz", timeout=2).status_code == 200, 90, "ato serve --workers 2")
        with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=60, verify=TLS) as c:
            d = c.post("/v1/score", json=make_score_request()).json()
        metrics = get(url + "/metrics", headers={"X-API-Key": API_KEY}, timeout=60).text
        # /readyz answers once ONE worker is up: new connections reach both once the second listens
        wait_until(lambda: len(new_connections(url, tmp_path)) == 2, 90, "connections reaching both workers")
        workers = new_connections(url, tmp_path)
        assert len(workers) == 2, "the connections reached both workers"
        os.kill(min(workers), signal.SIGKILL)
        wait_until(lambda: b"starting another" in (tmp_path / "serve.log").read_bytes(), 30, "the restart")
        wait_until(lambda: len(new_connections(url, tmp_path) - workers) == 1, 90, "the new worker answering")
        after = get(url + "/metrics", headers={"X-API-Key": API_KEY}, timeout=60).text
        metric_dirs = [p.name for p in (tmp_path / "tmp").glob("ato-metrics-*")]
        proc.terminate()  # SIGTERM: the workers drain, then the supervisor cleans up and exits
        assert proc.wait(300) == 0
    finally:
        stop(proc)
    # the killed worker's live gauges left /metrics with it; the survivor's stayed
    assert f'pid="{min(workers)}"' not in after and f'ato_model_info{{pid="{max(workers)}"' in after
    assert len(metric_dirs) == 1, metric_dirs
    assert not list((tmp_path / "tmp").glob("ato-metrics-*")), "the workers' metric files outlived the service"
    assert d["fallback_level"] == 0
    assert f'ato_decisions_total{{action="{d["action"]}",fallback_level="0"}} 1.0' in metrics
    assert "died (exit code -9): starting another" in (tmp_path / "serve.log").read_text()
