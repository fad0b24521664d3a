"""The speed layer's cost per request on a hot key, before (recount the key's last 24 h on every
request) and after (incremental windows), in process and in Redis, and its memory with many keys.

A stuffing IP holds N events (N = 1e2, 1e4, 1e5 by default) from many accounts over the last 20 h;
then each request is a login from that IP (new account, no device): read the windows, record the
login. "before" is the code this replaced: deques of events per key recounted by
`ato.features.speed.live_window_features`, and in Redis a `ZRANGEBYSCORE` of each key's 24 h parsed
with `split("|")`. It prints µs per request (mean over the requests, one process, no concurrency)
and the bytes the in-process layer holds per key and per event. Redis: a redis-server started on a
free port (or --redis-url). Run it under `flock /tmp/ato-heavy.lock`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import shutil
import socket
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from ato.features.request import LoginSignals
from ato.features.speed import SPEED_KEYS, US, live_window_features
from ato.online.decide.local_speed import LocalSpeed
from ato.online.decide.records import HORIZON_S, LiveLogin
from ato.settings import load_settings

T0 = 1_785_974_400.0  # 2026-08-06T00:00:00Z
IP, PREFIX = "stuffer-ip-hash", "stuffer-prefix-hash"


def login(i: int, t: float, ok: bool = False) -> LiveLogin:
    return LiveLogin({"account": f"victim-{i}", "ip": IP, "prefix": PREFIX, "device": None},
                     LoginSignals(t, ok, None, IP), f"ev-{i}")


class RecountInProcess:
    """Before: every key's last 24 h of events in a deque, recounted on every request."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, deque[tuple[float, int, str]]]] = {k: {} for k in SPEED_KEYS}

    def lookup(self, x: LiveLogin) -> dict[str, float]:
        t = x.signals.time_s
        ev: dict[str, tuple[list[float], list[int], list[str]] | None] = {}
        for k, v in x.keys.items():
            if v is None:
                ev[k] = None
                continue
            q = self.events[k].get(v)
            while q and q[0][0] < t - HORIZON_S - 60:
                q.popleft()
            ev[k] = ([e[0] for e in q], [e[1] for e in q], [e[2] for e in q]) if q else ([], [], [])
        out = live_window_features(ev, t)
        self.record(x)
        return out

    def record(self, x: LiveLogin) -> None:
        e = (x.signals.time_s, int(not x.signals.success), x.account_id)
        for k, v in x.keys.items():
            if v is not None:
                self.events[k].setdefault(v, deque()).append(e)


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def per_request_us(fn: Callable[[LiveLogin], Any], n: int, requests: int, start_t: float) -> float:
    t0 = time.perf_counter()
    for j in range(requests):
        fn(login(n + j, start_t + j * 0.01))
    return (time.perf_counter() - t0) / requests * 1e6


def prefill_times(n: int) -> list[float]:
    """n events spread over the 20 hours before T0."""
    return [T0 - 72_000 + 72_000 * i / n for i in range(n)]


def in_process(n: int, requests: int) -> tuple[float, float, bool]:
    old, new = RecountInProcess(), LocalSpeed(load_settings(environ={}).speed, recent=False)
    for i, t in enumerate(prefill_times(n)):
        old.record(login(i, t))
        new.record(login(i, t), t)
    equal = same(old.lookup(login(n, T0)), new.lookup(login(n, T0), T0, float("-inf"))[0])
    before = per_request_us(old.lookup, n + 1, requests, T0 + 1)
    after = per_request_us(lambda x: new.lookup(x, x.signals.time_s, float("-inf")), n + 1, requests, T0 + 1)
    return before, after, equal


async def redis_case(url: str, n: int, requests: int) -> tuple[float, float, bool]:
    import redis.asyncio as aredis

    from ato.online.decide.redis_store import RedisStore

    r = aredis.Redis.from_url(url)
    await r.flushdb()
    settings = load_settings(environ={"ATO_REDIS_URL": url, "ATO_STORE": "redis",
                                      "ATO_SERVING__STORE_TIMEOUT_MS": "30000"})
    store = RedisStore(settings)

    async def old_lookup(x: LiveLogin) -> dict[str, float]:
        t_us = round(x.signals.time_s * US)
        pipe = r.pipeline(transaction=False)
        present = [k for k in SPEED_KEYS if x.keys.get(k) is not None]
        for k in present:
            pipe.zrangebyscore(f"old:w:{k}:{x.keys[k]}", t_us - HORIZON_S * US, t_us)
        old_add(pipe, x)
        res = await pipe.execute()
        ev: dict[str, tuple[list[float], list[int], list[str]] | None] = {k: None for k in SPEED_KEYS}
        for k, members in zip(present, res[:len(present)], strict=True):
            ts, fl, ac = [], [], []
            for m in members:
                tm, failed, acct, _ = m.decode().split("|", 3)
                ts.append(int(tm) / US)
                fl.append(int(failed))
                ac.append(acct)
            ev[k] = (ts, fl, ac)
        return live_window_features(ev, x.signals.time_s)

    def old_add(pipe: Any, x: LiveLogin) -> None:
        t_us = round(x.signals.time_s * US)
        m = f"{t_us}|{int(not x.signals.success)}|{x.account_id}|{uuid.uuid4().hex[:8]}"
        for k, v in x.keys.items():
            if v is not None:
                pipe.zadd(f"old:w:{k}:{v}", {m: t_us})
                pipe.zremrangebyscore(f"old:w:{k}:{v}", "-inf", t_us - (HORIZON_S + 60) * US)

    times = prefill_times(n)
    for j in range(0, n, 1000):
        chunk = [login(i, times[i]) for i in range(j, min(j + 1000, n))]
        pipe = r.pipeline(transaction=False)
        for x in chunk:
            old_add(pipe, x)
        await pipe.execute()
        await store.record(chunk, chunk[-1].signals.time_s)
    equal = same(await old_lookup(login(n, T0)), (await store.lookup(login(n, T0), T0)).speed)

    async def timed(fn: Callable[[LiveLogin], Any]) -> float:
        t0 = time.perf_counter()
        for j in range(requests):
            await fn(login(n + 1 + j, T0 + 1 + j * 0.01))
        return (time.perf_counter() - t0) / requests * 1e6

    before = await timed(old_lookup)
    after = await timed(lambda x: store.lookup(x, x.signals.time_s))
    await store.close()
    await r.aclose()
    return before, after, equal


def memory(logins: int, per_key: int) -> dict[str, float]:
    """Bytes the in-process layer holds: `logins` logins over distinct accounts, IPs and devices
    (each IP seen `per_key` times), with the recent successes kept."""
    gc.collect()
    tracemalloc.start()
    sp = LocalSpeed(load_settings(environ={}).speed)
    base = tracemalloc.get_traced_memory()[0]
    for i in range(logins):
        t = T0 - 72_000 + 72_000 * i / logins
        ip = f"ip-{i // per_key}"
        sp.record(LiveLogin({"account": f"acct-{i}", "ip": ip, "prefix": f"pfx-{i // (per_key * 50)}",
                             "device": f"dev-{i}"}, LoginSignals(t, i % 3 != 0, f"dev-{i}", ip, "US", 7922), f"e{i}"),
                  t)
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    s = sp.stats()
    return {"logins": logins, "keys": s["keys"], "entries": s["entries"], "mb": used / 2**20,
            "bytes_per_key": used / s["keys"], "bytes_per_login": used / logins}


def start_redis() -> tuple[str, subprocess.Popen[bytes]]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server not found (make setup installs it), or pass --redis-url / --no-redis")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    import redis

    for _ in range(100):
        try:
            if redis.Redis(port=port).ping():
                break
        except redis.ConnectionError:
            time.sleep(0.1)
    return f"redis://127.0.0.1:{port}/0", proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,10000,100000", help="events held by the hot key before measuring")
    ap.add_argument("--requests", type=int, default=300, help="requests measured per case")
    ap.add_argument("--redis-url", default=None, help="a Redis to use (default: start redis-server)")
    ap.add_argument("--no-redis", action="store_true")
    ap.add_argument("--memory-logins", type=int, default=200_000, help="logins for the memory measure (0: skip)")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    rows = []
    for n in sizes:
        rows.append(("in process", n, *in_process(n, a.requests)))
    proc = None
    if not a.no_redis:
        url = a.redis_url
        if url is None:
            url, proc = start_redis()
        try:
            for n in sizes:
                rows.append(("redis", n, *asyncio.run(redis_case(url, n, a.requests))))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
    print(f"\nhot key (a stuffing IP and its /24), {a.requests} requests each: µs per request (read + record)")
    print(f"{'store':<12}{'events':>9}{'recount (before)':>18}{'incremental (after)':>21}{'speed-up':>10}  same features")
    for store, n, b, af, eq in rows:
        print(f"{store:<12}{n:>9,}{b:>18.1f}{af:>21.1f}{b / af:>9.1f}x  {'yes' if eq else 'NO'}")
    if a.memory_logins:
        for per_key in (1, 100):
            m = memory(a.memory_logins, per_key)
            print(f"\nmemory: {m['logins']:,} logins ({per_key} per IP) -> {m['keys']:,} keys, {m['entries']:,} entries: "
                  f"{m['mb']:.0f} MiB, {m['bytes_per_key']:.0f} B per key, {m['bytes_per_login']:.0f} B per login")
    return 0


if __name__ == "__main__":
    sys.exit(main())
