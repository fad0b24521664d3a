"""The online store behind one interface: the nightly snapshot (account, IP, device rows) plus the
speed layer (recent logins per account, IP, /24 prefix and device, and each account's successful
logins since the snapshot). `EmbeddedStore` keeps both in process (one worker); `RedisStore`
(`ato.online.redis_store`) shares them between workers.

A lookup reads what a login needs and records the login in the same step, so the next login
sees it; a login's own features never include itself (windows count strictly earlier events).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ato.features.request import LoginSignals
from ato.features.speed import SPEED_KEYS
from ato.features.windows import WINDOWS_S
from ato.settings import Settings

HORIZON_S = max(WINDOWS_S.values())  # events older than the longest window are dropped
RECENT_S = 3 * 86400  # an account's successful logins kept for rebuilding its history
Events = tuple[list[float], list[int], list[str]]


@dataclass(frozen=True)
class LiveLogin:
    """A login as the speed layer keeps it: its keys (pseudonymized) and its signals."""

    keys: dict[str, str | None]  # SPEED_KEYS name -> value (account id, ip hash, prefix hash, device hash)
    signals: LoginSignals

    @property
    def account_id(self) -> str:
        return str(self.keys["account"])


@dataclass
class Lookup:
    """Everything the store knows about one login's account, IP and device at request time."""

    as_of: str | None
    account: dict[str, Any] | None
    ip: dict[str, Any] | None
    device: dict[str, Any] | None
    events: dict[str, Events | None]
    recent: list[LoginSignals] = field(default_factory=list)

    @property
    def cutoff_s(self) -> float:
        """End of the snapshot's day: later successes are not in the snapshot yet."""
        return snapshot_cutoff_s(self.as_of)


def snapshot_cutoff_s(as_of: str | None) -> float:
    if as_of is None:
        return float("-inf")
    end = datetime.combine(date.fromisoformat(as_of) + timedelta(days=1), datetime.min.time(), UTC)
    return end.timestamp()


class OnlineStore(Protocol):
    name: str

    @property
    def as_of(self) -> str | None: ...

    async def lookup(self, login: LiveLogin) -> Lookup:
        """The login's snapshot rows and recent events; then records the login."""

    async def record(self, logins: list[LiveLogin]) -> None:
        """Feed logins known from elsewhere (`/v1/events`) into the speed layer."""

    async def refresh(self) -> bool:
        """Pick up a newly published snapshot; True when it changed."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


def signals_to_json(x: LoginSignals) -> str:
    return json.dumps([x.time_s, x.success, x.device, x.ip, x.country, x.asn, x.lat, x.lon])


def signals_from_json(s: str | bytes) -> LoginSignals:
    t, ok, dev, ip, country, asn, lat, lon = json.loads(s)
    return LoginSignals(t, ok, dev, ip, country, asn, lat, lon)


def read_snapshot(settings: Settings) -> tuple[str | None, dict[str, dict[str, dict[str, Any]]]]:
    """The live published snapshot as {kind: {key: row}} (rows as plain Python values)."""
    from ato.online.snapshot import current, load

    m = current(settings)
    if m is None:
        return None, {"account": {}, "ip": {}, "device": {}}
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in ("account", "ip", "device"):
        df = load(settings, kind)
        key = m["files"][kind]["key"]
        records = df.to_dict("records")
        for r in records:
            for c, v in r.items():
                if hasattr(v, "tolist"):  # list columns arrive as numpy arrays
                    r[c] = v.tolist()
        tables[kind] = {str(r[key]): r for r in records}
    return str(m["as_of"]), tables


def published_as_of(settings: Settings) -> str | None:
    ptr = Path(settings.online.snapshot_dir) / "CURRENT"
    return str(json.loads(ptr.read_text())["as_of"]) if ptr.exists() else None


class InProcessSpeed:
    """Recent events per key and recent successes per account, in this process."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, deque[tuple[float, int, str]]]] = {k: {} for k in SPEED_KEYS}
        self.recent: dict[str, deque[LoginSignals]] = {}

    def read(self, login: LiveLogin) -> tuple[dict[str, Events | None], list[LoginSignals]]:
        t = login.signals.time_s
        out: dict[str, Events | None] = {}
        for k, v in login.keys.items():
            if v is None:
                out[k] = None
                continue
            q = self.events[k].get(v)
            if not q:
                out[k] = ([], [], [])
                continue
            while q and q[0][0] < t - HORIZON_S - 60:  # roughly time-ordered: prune from the front
                q.popleft()
            out[k] = ([e[0] for e in q], [e[1] for e in q], [e[2] for e in q])
        return out, list(self.recent.get(login.account_id, ()))

    def write(self, login: LiveLogin) -> None:
        x = login.signals
        ev = (x.time_s, int(not x.success), login.account_id)
        for k, v in login.keys.items():
            if v is not None:
                self.events[k].setdefault(v, deque()).append(ev)
        if x.success:
            r = self.recent.setdefault(login.account_id, deque())
            r.append(x)
            while r and r[0].time_s < x.time_s - RECENT_S:
                r.popleft()


class EmbeddedStore:
    """The published snapshot loaded in process, with in-process speed-layer counters."""

    name = "embedded"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._as_of, self.tables = read_snapshot(settings)
        self.speed = InProcessSpeed()

    @property
    def as_of(self) -> str | None:
        return self._as_of

    async def lookup(self, login: LiveLogin) -> Lookup:
        tables = self.tables  # one consistent snapshot even if a reload swaps it meanwhile
        events, recent = self.speed.read(login)
        self.speed.write(login)
        ip, dev = login.keys.get("ip"), login.keys.get("device")
        return Lookup(self._as_of, tables["account"].get(login.account_id),
                      tables["ip"].get(ip) if ip else None, tables["device"].get(dev) if dev else None,
                      events, recent)

    async def record(self, logins: list[LiveLogin]) -> None:
        for x in logins:
            self.speed.write(x)

    async def refresh(self) -> bool:
        import asyncio

        if published_as_of(self.settings) == self._as_of:
            return False
        as_of, tables = await asyncio.to_thread(read_snapshot, self.settings)
        self._as_of, self.tables = as_of, tables  # swapped in one step
        return True

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


def open_store(settings: Settings) -> OnlineStore:
    """The store conf asks for (`serving.store`)."""
    if settings.serving.store == "redis":
        from ato.online.redis_store import RedisStore

        return RedisStore(settings)
    return EmbeddedStore(settings)
