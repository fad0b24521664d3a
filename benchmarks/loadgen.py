"""The load generator the serving benchmarks share: raw HTTP/1.1 keep-alive connections on asyncio, in
a process of its own (it never shares the server's core budget by thread).

- open loop: request i is due at t0 + i/R (or at t0 + due[i]) and its latency counts from then, so
  queueing shows (no coordinated omission);
- closed loop (rate None): every connection sends back to back.
Each answer's status, latency and the decision's `action`/`fallback_level` (when the body has them)
are kept per request on demand (`record`), for benchmarks that judge every decision.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import re
import sys
import time
from typing import Any

import numpy as np

KEY = "bench-key"
LEVEL = re.compile(rb'"fallback_level":(\d)')
ACTION = re.compile(rb'"action":"(\w+)"')
ACTIONS = ("allow", "step_up_mfa", "manual_review", "temporary_lock")  # codes 0..3 in recorded results


def http_request(port: int, body: bytes, path: str = "/v1/score", key: str = KEY) -> bytes:
    """One POST as raw bytes (built once, sent many times)."""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> tuple[int, bytes]:
    writer.write(req)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    m = re.search(rb"(?i)content-length: *(\d+)", head)
    body = await reader.readexactly(int(m.group(1))) if m else b""
    return status, body


async def _load(port: int, reqs: list[bytes], rate: float | None, duration: float, conns: int,
                due: list[float] | None = None, record: bool = False, progress_s: float = 0.0) -> dict[str, Any]:
    """rate=None: closed loop; else open loop at `rate` req/s for `duration` s, cycling `reqs`. With `due`
    (seconds from start, one per request), each request is sent once at its time. Latencies in seconds;
    `record` adds per request: status (0 = connection failed), latency (ms), action code, level."""
    n_total = len(due) if due is not None else 0
    lat: list[float] = []
    statuses: dict[int, int] = {}
    levels: dict[int, int] = {}
    failures = 0
    rec_status = np.zeros(n_total, np.int16)
    rec_lat = np.full(n_total, np.nan)
    rec_action = np.full(n_total, -1, np.int8)
    rec_level = np.full(n_total, -1, np.int8)
    codes = {a.encode(): i for i, a in enumerate(ACTIONS)}
    t0 = time.perf_counter() + 0.05
    end = t0 + duration  # closed loop and cycling only
    counter = iter(range(10**10))

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            i = next(counter)
            if due is not None:
                if i >= n_total:
                    break
                when = t0 + due[i]
            else:
                when = t0 + i / rate if rate else time.perf_counter()
                if when >= end:
                    break
            wait = when - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                st, body = await _exchange(reader, writer, reqs[i % len(reqs)])
            except (OSError, asyncio.IncompleteReadError):
                failures += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            took = time.perf_counter() - when
            lat.append(took)
            statuses[st] = statuses.get(st, 0) + 1
            m = LEVEL.search(body)
            if m:
                lv = int(m.group(1))
                levels[lv] = levels.get(lv, 0) + 1
            if record and due is not None:
                rec_status[i], rec_lat[i] = st, took * 1000
                a = ACTION.search(body)
                if a:
                    rec_action[i] = codes.get(a.group(1), -1)
                if m:
                    rec_level[i] = int(m.group(1))
        writer.close()

    async def reporter() -> None:
        while progress_s > 0:
            await asyncio.sleep(progress_s)
            a = np.array(lat[-5000:]) * 1000
            errs = sum(v for k, v in statuses.items() if k >= 500) + failures
            print(f"  .. {time.perf_counter() - t0:6.0f} s: {len(lat):>9,} answered"
                  + (f" of {n_total:,}" if n_total else "")
                  + (f", recent p99 {np.percentile(a, 99):.1f} ms" if len(a) else "")
                  + f", 5xx/failed {errs}", flush=True)

    cpu0 = time.process_time()
    rep = asyncio.ensure_future(reporter())
    await asyncio.gather(*(worker() for _ in range(conns)))
    rep.cancel()
    wall = time.perf_counter() - t0
    a = np.array(lat) * 1000
    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
    out = {"completed": len(lat), "ok": ok, "errors": len(lat) - ok + failures, "statuses": statuses,
           "rate": len(lat) / wall, "p50_ms": float(np.percentile(a, 50)) if len(a) else None,
           "p99_ms": float(np.percentile(a, 99)) if len(a) else None, "max_ms": float(a.max()) if len(a) else None,
           "levels": levels, "generator_cpu": (time.process_time() - cpu0) / wall, "wall_s": wall,
           "t0_epoch": time.time() - (time.perf_counter() - t0)}
    if record:
        out["record"] = {"status": rec_status, "latency_ms": rec_lat, "action": rec_action, "level": rec_level}
    return out


def _child(q: Any, *args: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    q.put(asyncio.run(_load(*args)))


def load(port: int, reqs: list[bytes], rate: float | None, duration: float, conns: int,
         due: list[float] | None = None, record: bool = False, progress_s: float = 0.0) -> dict[str, Any]:
    """One phase in a fresh generator process; see `_load`."""
    ctx = mp.get_context("spawn")
    q: Any = ctx.Queue()
    p = ctx.Process(target=_child, args=(q, port, reqs, rate, duration, conns, due, record, progress_s))
    p.start()
    out = q.get()
    p.join()
    sys.stdout.flush()
    return dict(out)
