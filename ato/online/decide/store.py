"""The online store behind one interface: the nightly snapshot (account, IP, device rows) plus the
speed layer (recent logins per account, IP, /24 prefix and device, and each account's successful
logins since the snapshot). `EmbeddedStore` keeps both in process (one worker); `RedisStore`
(`ato.online.decide.redis_store`) shares them between workers.

A lookup reads what a login needs and records the login in the same step, so the next login
sees it; a login's own features never include itself (windows count strictly earlier events).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Protocol

from ato.features.request import LoginSignals
from ato.features.speed import SPEED_KEYS
from ato.online.decide.records import HORIZON_S, RECENT_S, Events, LiveLogin, Lookup
from ato.online.snapshot.files import published_as_of, read_snapshot
from ato.settings import Settings

Tables = dict[str, dict[str, dict[str, Any]]]  # kind (account, ip, device) -> key -> row


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
    """A snapshot held in process, with in-process speed-layer counters. `load` reads the published
    snapshot and follows newly published ones; a store built from tables directly (tests) keeps them."""

    name = "embedded"

    def __init__(self, as_of: str | None, tables: Tables, settings: Settings | None = None) -> None:
        self._as_of, self.tables = as_of, tables
        self.settings = settings  # where newer published snapshots appear; None: never refreshed
        self.speed = InProcessSpeed()

    @classmethod
    def load(cls, settings: Settings) -> EmbeddedStore:
        as_of, tables = read_snapshot(settings)
        return cls(as_of, tables, settings)

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
        if self.settings is None or published_as_of(self.settings) == self._as_of:
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
        from ato.online.decide.redis_store import RedisStore

        return RedisStore(settings)
    return EmbeddedStore.load(settings)
