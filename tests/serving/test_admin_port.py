"""The admin port for real, where an in-process test cannot show it: `ato serve --workers 2` binds
`api.admin_port` in both workers (SO_REUSEPORT) beside the public port; /metrics and the docs answer
there without a key and are gone from the public port, whose /v1 routes still need theirs. No trained
world: without a champion the rules decide (level 2), which is all this test needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.builders import API_KEY, OTHER_KEY, REPLAY_CLOCK
from tests.builders import make_score_request
from tests.conftest import TEST_KEY
from tests.serving.conftest import TLS, Redis, free_port, get, post, stop, wait_until

pytestmark = pytest.mark.serving


def test_metrics_and_docs_live_on_the_admin_port_of_every_worker(redis_server: Redis, tmp_path: Path) -> None:
    import redis as redis_py

    redis_py.Redis.from_url(redis_server.url).flushdb()  # no speed-layer history from other tests
    port, admin = free_port(), free_port()
    env = {"ATO_HMAC_KEY": TEST_KEY, "ATO_LAKE_ROOT": str(tmp_path / "lake"), "ATO_MODEL_DIR": str(tmp_path / "models"),
           "ATO_ONLINE_DIR": str(tmp_path / "online"), "ATO_SPOOL": str(tmp_path / "spool"),
           "ATO_ENRICH__GEO_DB": str(tmp_path / "no-geo.csv"), "ATO_SERVING__AUDIT_DIR": str(tmp_path / "audit"),
           "ATO_API_KEYS": f"{API_KEY},{OTHER_KEY}", "ATO_STORE": "redis", "ATO_REDIS_URL": redis_server.url,
           "ATO_API__ADMIN_PORT": str(admin), "ATO_API__METRICS": "admin_port", "ATO_API__DOCS": "admin_port", **REPLAY_CLOCK}
    full = {k: v for k, v in os.environ.items() if not k.startswith("ATO_")} | env
    ato = str(Path(sys.executable).parent / "ato")
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([ato, "serve", "--port", str(port), "--workers", "2"], env=full,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    public, private = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin}"
    try:
        wait_until(lambda: get(public + "/healthz", timeout=2).status_code == 200, 90, "ato serve --workers 2")
        wait_until(lambda: get(private + "/metrics", timeout=2).status_code == 200, 30, "the admin port")
        bound = f"admin port: http://127.0.0.1:{admin}"  # /healthz answers once ONE worker is up: wait for both
        wait_until(lambda: log.read_text().count(bound) >= 2, 90, "the second worker's admin port")
        with httpx.Client(base_url=public, headers={"X-API-Key": API_KEY}, timeout=60, verify=TLS) as c:
            decisions = [c.post("/v1/score", json=make_score_request(account_id=f"acct_admin_{i}", ip="192.0.2.10"))
                         for i in range(6)]
            gone = {p: c.get(p).status_code for p in ("/metrics", "/docs", "/openapi.json")}
        anonymous = post(public + "/v1/score", json=make_score_request(), timeout=60).status_code
        metrics = get(private + "/metrics", timeout=60).text
        schema = get(private + "/openapi.json", timeout=60).json()
        docs = get(private + "/docs", timeout=60).status_code
        binds = log.read_text().count(bound)
    finally:
        stop(proc)
    assert all(r.status_code == 200 for r in decisions), [r.text for r in decisions][:2]
    assert {(r.status_code, r.json()["fallback_level"]) for r in decisions} == {(200, 2)}, log.read_text()[-2000:]
    assert gone == {"/metrics": 404, "/docs": 404, "/openapi.json": 404}, "nothing of it on the public port"
    assert anonymous == 401
    assert 'ato_decisions_total{action="allow",fallback_level="2"} 6.0' in metrics, "summed over both workers"
    assert "/v1/score" in schema["paths"] and docs == 200
    assert binds == 2, "each worker bound the admin port"
