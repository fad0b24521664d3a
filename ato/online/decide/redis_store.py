"""The online store in Redis, shared by several API workers.

Layout (all keys under `ato:`):
- the snapshot rows and the `ato:snap:current` pointer, as `ato.online.snapshot.redis` publishes them;
- the speed layer's windows per key and each account's successful logins per day, as
  `ato.online.decide.redis_windows` describes them (sorted sets read with ZCOUNT, a Lua script
  per key).

A lookup is one pipelined round trip: read the three rows and the account's recent days, then per
key (account, IP, /24, device) the script that prunes by server time, counts the windows at the
login's moment and records the login (once per event id). Logins that are only recorded
(`/v1/events`) go to Redis in one script call per batch.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from ato.features.speed import SPEED_KEYS, speed_feature_names
from ato.online.decide.local_speed import KIND_CODE, to_us
from ato.online.decide.records import (
    DAY_S,
    HORIZON_S,
    RECENT_S,
    LiveLogin,
    Lookup,
    Successes,
    signals_from_json,
    signals_to_json,
    snapshot_cutoff_s,
)
from ato.online.decide.redis_windows import (
    BATCH,
    BATCH_SHA,
    SCRIPT,
    SHA,
    SUFFIXES,
    key_prefix,
    member,
    recent_key,
)
from ato.online.snapshot.redis import CURRENT, row_key, text
from ato.settings import Settings

NAN = float("nan")
_NAMES = {k: speed_feature_names(k) for k in SPEED_KEYS}
RECENT_TTL_S = RECENT_S + DAY_S
RECORD_CHUNK = 16  # recorded logins per script call (`record`)
READ_TIMEOUT_S = 2.0  # a Redis read stuck this long fails (requests stop waiting long before)
T = TypeVar("T")


class RedisStore:
    """Snapshot rows and speed-layer windows in Redis (redis.asyncio, one pool per worker)."""

    name = "redis"

    def __init__(self, settings: Settings) -> None:
        import redis.asyncio as aredis

        self.settings = settings
        connect = max(settings.serving.store_timeout_ms / 1000, 0.05)
        # No request waits past store_timeout_ms (the chain's own timer); the socket timeout only ends
        # a read that is truly stuck, so a lookup the chain gave up on can still finish (and close the
        # breaker) instead of dropping its connection when the worker's loop comes back late.
        self.r = aredis.Redis.from_url(settings.serving.redis_url, socket_timeout=READ_TIMEOUT_S,
                                       socket_connect_timeout=connect, max_connections=256)
        self._as_of: str | None = None
        sp = settings.speed
        self.cap, self.width_us, self.recent_values = sp.key_events, sp.bucket_s * 1_000_000, sp.recent_values
        self.keep_us = (HORIZON_S + sp.late_s) * 1_000_000
        self.ttl_ms = str((HORIZON_S + sp.late_s + 60) * 1000)

    @property
    def as_of(self) -> str | None:
        return self._as_of

    def _cut(self, now: float) -> int:
        return -(2**62) if math.isinf(now) else to_us(now) - self.keep_us

    def _keys(self, login: LiveLogin, write: bool) -> list[tuple[str, str, list[str], list[str]]]:
        """Per key the login has: (kind, key prefix, [member, time, failed, distinct, account],
        [day hash, signals JSON, fields] when a success is recorded, else [])."""
        x, account = login.signals, login.account_id
        t = str(to_us(x.time_s))
        eid = login.event_id or uuid.uuid4().hex  # without an id, a login is never deduplicated
        out = []
        for kind, value in login.keys.items():
            if value is None:
                continue
            code = KIND_CODE[kind]
            m = member(code, eid, account) if write else ""
            day: list[str] = []
            if code == "a" and x.success and m:
                fields = [f"{c}:{v}" for c, v in (("d", x.device), ("i", x.ip), ("c", x.country),
                                                  ("a", None if x.asn is None else int(x.asn))) if v is not None]
                day = [recent_key(account, int(x.time_s // DAY_S) * DAY_S), signals_to_json(x), *fields]
            out.append((kind, key_prefix(code, value), [m, t, "0" if x.success else "1", "0" if code == "a" else "1",
                                                        account], day))
        return out

    def _call(self, pipe: Any, login: LiveLogin, cut: int) -> list[str]:
        """Queue the script for each key the login has (read at the login's time, then record it);
        returns those keys' kinds in order."""
        t = str(to_us(login.signals.time_s))
        kinds = []
        for kind, prefix, args, day in self._keys(login, write=True):
            keys = [prefix + s for s in SUFFIXES]
            tail = [str(cut), str(self.cap), str(self.width_us), self.ttl_ms]
            if day:
                keys.append(day[0])
                tail += [day[1], str(self.recent_values), str(RECENT_TTL_S), *day[2:]]
            pipe.evalsha(SHA, len(keys), *keys, t, *args, *tail)
            kinds.append(kind)
        return kinds

    def _days(self, login: LiveLogin, now: float, since_s: float) -> list[int]:
        """The days of recent successes a lookup reads: since the snapshot, those still kept."""
        t = login.signals.time_s
        now = t if math.isinf(now) else now
        lo = int(max(now - RECENT_S, since_s) // DAY_S) * DAY_S
        hi = int(max(t, now) // DAY_S) * DAY_S
        return list(range(lo, hi + DAY_S, DAY_S))[-5:]

    async def _run(self, build: Callable[[Any], T]) -> tuple[T, list[Any]]:
        """One pipelined round trip of what `build` queues (it returns what it needs to read the
        replies). If Redis lost the script (restart, flush), it is loaded and the batch sent again."""
        from redis.exceptions import NoScriptError

        for attempt in (1, 2):
            pipe = self.r.pipeline(transaction=False)
            shape = build(pipe)
            try:
                return shape, list(await pipe.execute())
            except NoScriptError:
                if attempt == 2:
                    raise
                for script in (SCRIPT, BATCH):
                    await self.r.script_load(script)
        raise AssertionError("unreachable")

    async def lookup(self, login: LiveLogin, now: float) -> Lookup:
        as_of = self._as_of
        ip, dev = login.keys.get("ip"), login.keys.get("device")
        days = self._days(login, now, snapshot_cutoff_s(as_of))
        cut = self._cut(now)

        def build(pipe: Any) -> list[str]:
            if as_of is not None:
                pipe.mget(row_key(as_of, "account", login.account_id), row_key(as_of, "ip", ip or "-"),
                          row_key(as_of, "device", dev or "-"))
            for d in days:
                pipe.hgetall(recent_key(login.account_id, d))
            return self._call(pipe, login, cut)

        kinds, res = await self._run(build)
        rows: list[Any] = [None, None, None]
        if as_of is not None:
            rows = [json.loads(v) if v is not None else None for v in res.pop(0)]
        recent = _successes([res[i] for i in range(len(days))])
        speed: dict[str, float] = {}
        counts = dict(zip(kinds, res[len(days):], strict=True))
        for kind in SPEED_KEYS:
            names = _NAMES[kind]
            if kind not in counts:
                speed.update(dict.fromkeys(names, NAN))
                continue
            vals = counts[kind]
            if kind == "account":  # no distinct accounts for the account itself
                vals = [v for i, v in enumerate(vals) if i % 3 != 2]
            speed.update(zip(names, map(float, vals), strict=True))
        return Lookup(as_of, rows[0], rows[1] if ip else None, rows[2] if dev else None, speed, recent)

    async def record(self, logins: list[LiveLogin], now: float) -> None:
        """One pipelined round trip of BATCH calls, `RECORD_CHUNK` logins each (their keys in order, as
        JSON): a chunk holds Redis's single thread a millisecond or two, so lookups get in between."""
        if not logins:
            return
        head = [str(self._cut(now)), str(self.cap), str(self.width_us), self.ttl_ms, str(self.recent_values),
                str(RECENT_TTL_S)]
        payloads = []
        for i in range(0, len(logins), RECORD_CHUNK):
            calls = [[prefix, *args, *(day or ["", ""])]
                     for x in logins[i:i + RECORD_CHUNK] for _, prefix, args, day in self._keys(x, write=True)]
            payloads.append(json.dumps(calls, ensure_ascii=False, separators=(",", ":")))

        def build(pipe: Any) -> None:
            for payload in payloads:
                pipe.evalsha(BATCH_SHA, 0, *head, payload)

        await self._run(build)

    async def refresh(self) -> bool:
        as_of = text(await self.r.get(CURRENT))
        changed = as_of != self._as_of
        self._as_of = as_of
        return changed

    async def ping(self) -> bool:
        return bool(await self.r.ping())

    async def close(self) -> None:
        await self.r.aclose()


def _successes(days: list[dict[bytes, bytes]]) -> Successes | None:
    """The recent days' hashes (oldest first) as one summary; None when there are none."""
    out: Successes | None = None
    for h in days:
        if not h:
            continue
        day: dict[str, list[str]] = {"d": [], "i": [], "c": [], "a": []}
        last = None
        for k, v in h.items():
            f = k.decode()
            if f == "last":
                last = signals_from_json(v)
            elif f[1:2] == ":" and f[0] in day:
                day[f[0]].append(f[2:])
        d = Successes(0, tuple(day["d"]), tuple(day["i"]), tuple(day["c"]), tuple(int(a) for a in day["a"]), last)
        if out is None:
            out = d
        else:
            out.merge(d)
    return out
