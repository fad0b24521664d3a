"""Scoring API throughput and latency: our service vs a bare FastAPI + LightGBM endpoint.

Both run under uvicorn (one worker, uvloop + httptools, no access log) on the demo data (run
`make demo` first); ours with its embedded store, the bare one (`benchmarks/bare_app.py`) parsing
the same request model and predicting one fixed row with the same booster. Request bodies are
the last simulated day's logins (without event time, so the service uses the clock).

The load generator (`benchmarks/loadgen.py`) runs in its own process: raw HTTP/1.1 keep-alive
connections on asyncio.
- fixed rate (open loop): request i is due at t0 + i/R and its latency counts from then, so
  queueing shows (no coordinated omission);
- max throughput (closed loop): every connection sends back to back. Ours is measured on a second
  instance with shedding switched off, so the number is the full path's (store + model) capacity;
- overload: our service (default conf) at 5x that capacity, counting decisions by fallback level;
- shadow: the same fixed rate on a third instance scoring a shadow challenger (a copy of the
  champion under another version, `serving.shadow` on), alternated with ours `--shadow-rounds`
  times: the added p50 and p99 are the medians of the paired differences.
Phases run one at a time. Prints a table and the ratios; writes data/reports/serving-bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if not __package__:  # run as a script (`python benchmarks/serving.py`): the repository root holds `benchmarks`
    sys.path.insert(0, str(ROOT))
from benchmarks.loadgen import KEY, http_request, load  # noqa: E402


def start(args: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env={**os.environ, **env}, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    end = time.monotonic() + 90
    while time.monotonic() < end:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server on :{port} did not start; see {log}")


def uvicorn(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port), "--workers", "1",
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]


def shadow_registry(champion: str) -> Path:
    """A registry copy whose challenger is the champion's model under another version name."""
    root = Path(tempfile.mkdtemp(prefix="ato-shadow-bench-"))
    shutil.copytree(ROOT / "data/models" / champion, root / champion)
    shutil.copytree(ROOT / "data/models" / champion, root / f"{champion}-shadow")
    (root / "champion").write_text(json.dumps({"version": champion}))
    (root / "challenger").write_text(json.dumps({"version": f"{champion}-shadow"}))
    return root


def request_bodies(n: int) -> list[bytes]:
    from ato import deltars
    from ato.online.replay.feed import raw_logins, request_body
    from ato.settings import load_settings
    from ato.tables import LOGINS

    s = load_settings()
    day = deltars.partition_dates(s, "silver", LOGINS, "event_date")[-1]
    rows = raw_logins(s, [day]).head(n).to_dict("records")
    out = []
    for r in rows:
        body = request_body(r)
        body.pop("event_time", None)
        body.pop("event_id", None)
        out.append(json.dumps(body).encode())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=1000.0, help="fixed-rate phase, req/s")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the fixed-rate phase")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--quick", action="store_true", help="short phases (smoke run)")
    ap.add_argument("--bodies", type=int, default=100_000, help="distinct logins cycled (default: the whole day)")
    ap.add_argument("--shadow-rounds", type=int, default=3, help="paired fixed-rate runs: ours, ours with a shadow")
    ap.add_argument("--out", default="data/reports/serving-bench.json")
    a = ap.parse_args()
    fixed, peak, over = (3.0, 3.0, 3.0) if a.quick else (a.seconds, 15.0, 10.0)
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    champion = json.loads((ROOT / "data/models/champion").read_text())["version"]
    reqs = request_bodies(a.bodies)
    logs = ROOT / "data/reports"
    logs.mkdir(parents=True, exist_ok=True)
    ports = {"ours": 8941, "bare": 8942, "ours_full": 8943, "ours_shadow": 8944}
    replay = {"ATO_SERVING__CLOCK": "replay"}  # server time from the events (recorded days)
    ours = start(uvicorn("serving.app:create_app", ports["ours"]), {"ATO_API_KEYS": KEY, **replay}, ports["ours"],
                 logs / "bench-ours.log")
    # capacity of the full path (store + model): the same service with shedding switched off
    full = start(uvicorn("serving.app:create_app", ports["ours_full"]),
                 {"ATO_API_KEYS": KEY, "ATO_SERVING__MAX_IN_FLIGHT": "1000000", "ATO_SERVING__SHED_LAG_MS": "1e9",
                  **replay},
                 ports["ours_full"], logs / "bench-ours-full.log")
    bare = start(uvicorn("benchmarks.bare_app:create_app", ports["bare"]),
                 {"BARE_MODEL": str(ROOT / f"data/models/{champion}/model.txt")}, ports["bare"], logs / "bench-bare.log")
    shadow_models = shadow_registry(champion)
    shadowed = start(uvicorn("serving.app:create_app", ports["ours_shadow"]),
                     {"ATO_API_KEYS": KEY, "ATO_MODEL_DIR": str(shadow_models), "ATO_SERVING__SHADOW": "true", **replay},
                     ports["ours_shadow"], logs / "bench-ours-shadow.log")
    res: dict[str, Any] = {"champion": champion, "rate": a.rate, "connections": a.connections, "bodies": len(reqs)}
    try:
        phases = (("ours", "fixed", a.rate, fixed), ("ours_full", "max", None, peak),
                  ("bare", "fixed", a.rate, fixed), ("bare", "max", None, peak))
        for name, kind, rate, secs in phases:
            bodies = [http_request(ports[name], b) for b in reqs]
            load(ports[name], bodies, None, 2.0, a.connections)  # warm-up
            print(f"{name}: {kind} ({rate or 'closed loop'}) for {secs:.0f} s ...", flush=True)
            res[f"{name.split('_')[0]}_{kind}"] = load(ports[name], bodies, rate, secs, a.connections)
        target = 5 * res["ours_max"]["rate"]
        print(f"ours: overload at 5x capacity = {target:.0f} req/s for {over:.0f} s ...", flush=True)
        res["ours_overload"] = load(ports["ours"], [http_request(ports["ours"], b) for b in reqs], target, over, 256)
        res["ours_overload"]["target_rate"] = target
        res["shadow_rounds"] = []
        for i in range(a.shadow_rounds):
            pair = {}
            for name in ("ours", "ours_shadow"):
                bodies = [http_request(ports[name], b) for b in reqs]
                load(ports[name], bodies, None, 2.0, a.connections)  # warm-up
                print(f"{name}: fixed ({a.rate:.0f}) for {fixed:.0f} s, shadow round {i + 1} ...", flush=True)
                pair[name] = load(ports[name], bodies, a.rate, fixed, a.connections)
            res["shadow_rounds"].append(pair)
        text = httpx.get(f"http://127.0.0.1:{ports['ours_shadow']}/metrics", headers={"X-API-Key": KEY}).text
        res["shadow_results"] = {x.split('"')[1]: float(x.split()[-1]) for x in text.splitlines()
                                 if x.startswith("ato_shadow_decisions_total{")}
    finally:
        for p in (ours, full, bare, shadowed):
            p.terminate()
            p.wait(20)
        shutil.rmtree(shadow_models, ignore_errors=True)
    report(res)
    Path(a.out).write_text(json.dumps(res, indent=2))
    print(f"\nwritten {a.out}")
    return 0


def report(r: dict[str, Any]) -> None:
    print(f"\n{'':28}{'ours':>12}{'bare':>12}{'ratio':>10}")
    for label, key, field in ((f"p50 at {r['rate']:.0f} req/s (ms)", "fixed", "p50_ms"),
                              (f"p99 at {r['rate']:.0f} req/s (ms)", "fixed", "p99_ms"),
                              ("max throughput (req/s)", "max", "rate"), ("p99 at max (ms)", "max", "p99_ms")):
        o, b = r[f"ours_{key}"][field], r[f"bare_{key}"][field]
        print(f"{label:<28}{o:>12.2f}{b:>12.2f}{o / b:>10.2f}")
    for n in ("ours_fixed", "bare_fixed", "ours_max", "bare_max"):
        x = r[n]
        print(f"{n:<12} completed {x['completed']:>7}, errors {x['errors']}, achieved {x['rate']:.0f} req/s, "
              f"generator CPU {x['generator_cpu']:.0%}, levels {x['levels']}")
    f, m, o = r["ours_fixed"], r["ours_max"]["rate"] / r["bare_max"]["rate"], r["ours_overload"]
    print(f"\ntarget p99 <= 5 ms at {r['rate']:.0f} req/s: {'met' if f['p99_ms'] <= 5 else 'NOT met'} "
          f"({f['p99_ms']:.2f} ms, errors {f['errors']})")
    print(f"target max throughput >= 50 % of bare: {'met' if m >= 0.5 else 'NOT met'} ({m:.0%})")
    if r.get("shadow_rounds"):
        add = {q: statistics.median(p["ours_shadow"][f"{q}_ms"] - p["ours"][f"{q}_ms"] for p in r["shadow_rounds"])
               for q in ("p50", "p99")}
        for i, p in enumerate(r["shadow_rounds"], 1):
            print(f"shadow round {i}: p50 {p['ours']['p50_ms']:.3f} -> {p['ours_shadow']['p50_ms']:.3f} ms, "
                  f"p99 {p['ours']['p99_ms']:.3f} -> {p['ours_shadow']['p99_ms']:.3f} ms, "
                  f"levels {p['ours_shadow']['levels']}")
        print(f"target shadow adds <= 0.5 ms at p50: {'met' if add['p50'] <= 0.5 else 'NOT met'} "
              f"(median added p50 {add['p50']:+.3f} ms, p99 {add['p99']:+.3f} ms over {len(r['shadow_rounds'])} rounds); "
              f"shadow results {r.get('shadow_results')}")
    shed = o["levels"].get(3, 0) / max(o["completed"], 1)
    print(f"overload: asked {o['target_rate']:.0f} req/s, achieved {o['rate']:.0f}; errors {o['errors']} "
          f"{'(met: 0)' if o['errors'] == 0 else '(NOT met)'}; shed to rules {shed:.1%}; levels {o['levels']}; "
          f"p50 {o['p50_ms']:.1f} ms, p99 {o['p99_ms']:.1f} ms; generator CPU {o['generator_cpu']:.0%}")


if __name__ == "__main__":
    sys.exit(main())
