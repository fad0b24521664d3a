"""The online store in Redis, shared by several API workers.

Layout (all keys under `ato:`):
- the snapshot rows and the `ato:snap:current` pointer, as `ato.online.snapshot.redis` publishes them;
- `ato:w:<key kind>:<value>` -> sorted set of recent logins (score: time in µs), pruned to 24 h;
- `ato:r:<account>` -> list of the account's recent successful logins (JSON), for its history.

A lookup is one pipelined round trip: read the three rows, the four windows and the recent
successes, then add the login.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ato.features.speed import SPEED_KEYS, US
from ato.online.decide.records import (
    HORIZON_S,
    RECENT_S,
    Events,
    LiveLogin,
    Lookup,
    signals_from_json,
    signals_to_json,
)
from ato.online.snapshot.redis import CURRENT, row_key, text
from ato.settings import Settings


class RedisStore:
    """Snapshot rows and speed-layer windows in Redis (redis.asyncio, one pool per worker)."""

    name = "redis"

    def __init__(self, settings: Settings) -> None:
        import redis.asyncio as aredis

        self.settings = settings
        timeout = max(settings.serving.store_timeout_ms / 1000, 0.05)
        self.r = aredis.Redis.from_url(settings.serving.redis_url, socket_timeout=timeout,
                                       socket_connect_timeout=timeout, max_connections=256)
        self._as_of: str | None = None

    @property
    def as_of(self) -> str | None:
        return self._as_of

    def _add(self, pipe: Any, login: LiveLogin) -> None:
        x = login.signals
        t_us = round(x.time_s * US)
        member = f"{t_us}|{int(not x.success)}|{login.account_id}|{uuid.uuid4().hex[:8]}"
        for k, v in login.keys.items():
            if v is None:
                continue
            wk = f"ato:w:{k}:{v}"
            pipe.zadd(wk, {member: t_us})
            pipe.zremrangebyscore(wk, "-inf", t_us - (HORIZON_S + 60) * US)
            pipe.expire(wk, HORIZON_S * 2)
        if x.success:
            rk = f"ato:r:{login.account_id}"
            pipe.rpush(rk, signals_to_json(x))
            pipe.ltrim(rk, -500, -1)
            pipe.expire(rk, RECENT_S)

    async def lookup(self, login: LiveLogin) -> Lookup:
        as_of = self._as_of
        t_us = round(login.signals.time_s * US)
        pipe = self.r.pipeline(transaction=False)
        ip, dev = login.keys.get("ip"), login.keys.get("device")
        if as_of is not None:
            pipe.mget(row_key(as_of, "account", login.account_id), row_key(as_of, "ip", ip or "-"),
                      row_key(as_of, "device", dev or "-"))
        present = [k for k in SPEED_KEYS if login.keys.get(k) is not None]
        for k in present:
            pipe.zrangebyscore(f"ato:w:{k}:{login.keys[k]}", t_us - HORIZON_S * US, t_us)
        pipe.lrange(f"ato:r:{login.account_id}", 0, -1)
        self._add(pipe, login)
        res = await pipe.execute()
        rows: list[Any] = [None, None, None]
        if as_of is not None:
            rows = [json.loads(v) if v is not None else None for v in res.pop(0)]
        events: dict[str, Events | None] = {k: None for k in SPEED_KEYS}
        for k, members in zip(present, res[:len(present)], strict=True):
            ts, fl, ac = [], [], []
            for m in members:
                t, failed, acct, _ = m.decode().split("|", 3)
                ts.append(int(t) / US)
                fl.append(int(failed))
                ac.append(acct)
            events[k] = (ts, fl, ac)
        recent = [signals_from_json(s) for s in res[len(present)]]
        return Lookup(as_of, rows[0], rows[1] if ip else None, rows[2] if dev else None, events, recent)

    async def record(self, logins: list[LiveLogin]) -> None:
        pipe = self.r.pipeline(transaction=False)
        for x in logins:
            self._add(pipe, x)
        await pipe.execute()

    async def refresh(self) -> bool:
        as_of = text(await self.r.get(CURRENT))
        changed = as_of != self._as_of
        self._as_of = as_of
        return changed

    async def ping(self) -> bool:
        return bool(await self.r.ping())

    async def close(self) -> None:
        await self.r.aclose()
