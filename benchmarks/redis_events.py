"""What a `/v1/events` batch costs the Redis speed layer: recorded in one Lua call per 16 logins
(`RedisStore.record`, the current code) against one Lua call per key and login (the code it replaced,
rebuilt here from the per-key script `SCRIPT` with no read). Stuffing-shaped batches: 64 failed
logins each, over 200 IPs in 100 /24s, random accounts, half with a device id.

Prints per login: wall µs, the client's CPU µs (the worker's event loop: packing commands and reading
replies) and Redis's µs (`INFO commandstats`, the single thread every lookup waits on), and the
ratios. A redis-server is started on a free port (or --redis-url), flushed before each case. Run it
under `flock /tmp/ato-heavy.lock`, with nothing else running.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if not __package__:  # run as a script: the repository root holds `benchmarks`
    sys.path.insert(0, str(ROOT))
from ato.features.request import LoginSignals  # noqa: E402
from ato.online.decide.records import LiveLogin  # noqa: E402
from ato.online.decide.redis_store import RECENT_TTL_S, RedisStore  # noqa: E402
from ato.online.decide.redis_windows import SCRIPT, SHA, SUFFIXES  # noqa: E402
from ato.settings import load_settings  # noqa: E402
from benchmarks.speed_layer import T0, start_redis  # noqa: E402


def batches(n: int, size: int, seed: int = 1) -> list[list[LiveLogin]]:
    rng = np.random.default_rng(seed)
    out, t = [], T0
    for b in range(n):
        batch = []
        for j in range(size):
            t += 0.01
            ip = int(rng.integers(0, 200))
            dev = None if rng.random() < 0.5 else f"dev{int(rng.integers(0, 5000))}"
            batch.append(LiveLogin({"account": f"acct{int(rng.integers(0, 100_000))}", "ip": f"ip{ip}",
                                    "prefix": f"p{ip // 2}", "device": dev},
                                   LoginSignals(t, bool(rng.random() < 0.01), dev, f"ip{ip}"), f"e{b}-{j}"))
        out.append(batch)
    return out


async def per_key(store: RedisStore, logins: list[LiveLogin], now: float) -> None:
    """The replaced way: one script call per key and login, ~20 arguments each."""
    cut = store._cut(now)

    def build(pipe: Any) -> None:
        for x in logins:
            for _, prefix, args, day in store._keys(x, write=True):
                keys = [prefix + s for s in SUFFIXES]
                tail = [str(cut), str(store.cap), str(store.width_us), store.ttl_ms]
                if day:
                    keys.append(day[0])
                    tail += [day[1], str(store.recent_values), str(RECENT_TTL_S), *day[2:]]
                pipe.evalsha(SHA, len(keys), *keys, "", *args, *tail)

    await store._run(build)


async def case(url: str, name: str, work: list[list[LiveLogin]]) -> dict[str, float]:
    import redis

    settings = load_settings(environ={"ATO_REDIS_URL": url, "ATO_STORE": "redis"})
    store = RedisStore(settings)
    r = redis.Redis.from_url(url)
    r.flushall()
    r.script_load(SCRIPT)
    await store.record(work[0][:1], T0)  # loads the batch script
    r.flushdb()
    r.config_resetstat()
    n = sum(len(b) for b in work)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for b in work:
        if name == "batch":
            await store.record(b, b[-1].signals.time_s)
        else:
            await per_key(store, b, b[-1].signals.time_s)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    stats = r.info("commandstats").get("cmdstat_evalsha", {})
    await store.close()
    r.close()
    return {"wall": wall * 1e6 / n, "client": cpu * 1e6 / n, "redis": stats.get("usec", 0) / n,
            "calls": stats.get("calls", 0) / len(work)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--size", type=int, default=64, help="logins per /v1/events batch")
    ap.add_argument("--redis-url", default=None, help="a Redis to use (default: start redis-server)")
    a = ap.parse_args()
    url, proc = (a.redis_url, None) if a.redis_url else start_redis()
    try:
        work = batches(a.batches, a.size)
        rows = {name: asyncio.run(case(url, name, work)) for name in ("per key", "batch")}
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
    print(f"{a.batches} batches of {a.size} failed logins (200 IPs, 100 /24s, half with a device)")
    print(f"{'':8} {'script calls/batch':>18} {'wall µs/login':>14} {'client CPU µs/login':>20} {'Redis µs/login':>15}")
    for name, v in rows.items():
        print(f"{name:8} {v['calls']:18.0f} {v['wall']:14.1f} {v['client']:20.1f} {v['redis']:15.1f}")
    old, new = rows["per key"], rows["batch"]
    print(f"per key / batch: wall {old['wall'] / new['wall']:.2f}x, client CPU {old['client'] / new['client']:.2f}x, "
          f"Redis {old['redis'] / new['redis']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
