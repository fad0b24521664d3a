"""The online store behind one interface: the nightly snapshot (account, IP, device rows) plus the
speed layer (windows per account, IP, /24 prefix and device, and each account's successful logins
since the snapshot). `EmbeddedStore` keeps both in process (one worker; the speed layer is
`ato.online.decide.local_speed`); `RedisStore` (`ato.online.decide.redis_store`) shares them
between workers.

A lookup reads what a login needs and records the login in the same step, so the next login
sees it; a login's own features never include itself (windows count strictly earlier events).
`now` is server time (`ato.online.decide.clock`): it prunes, a login's own time never does.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from ato.online.decide.local_speed import LocalSpeed
from ato.online.decide.records import LiveLogin, Lookup, snapshot_cutoff_s
from ato.online.decide.snapshot_values import snapshot_values
from ato.online.snapshot.files import published_as_of, read_snapshot
from ato.settings import Settings

Tables = dict[str, dict[str, dict[str, Any]]]  # kind (account, ip, device) -> key -> row


class OnlineStore(Protocol):
    name: str

    @property
    def as_of(self) -> str | None: ...

    async def lookup(self, login: LiveLogin, now: float) -> Lookup:
        """The login's snapshot rows, speed windows and recent successes; then records the login."""

    async def record(self, logins: list[LiveLogin], now: float) -> None:
        """Feed logins known from elsewhere (`/v1/events`) into the speed layer (once per event id)."""

    async def refresh(self) -> bool:
        """Pick up a newly published snapshot; True when it changed."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class EmbeddedStore:
    """A snapshot held in process, with in-process speed-layer counters. `load` reads the published
    snapshot and follows newly published ones; a store built from tables directly (tests) keeps them."""

    name = "embedded"

    def __init__(self, as_of: str | None, tables: Tables, settings: Settings | None = None) -> None:
        self._as_of, self.tables = as_of, tables
        self.values = snapshot_values(tables)
        self.settings = settings  # where newer published snapshots appear; None: never refreshed
        self.speed = LocalSpeed(settings.speed if settings is not None else None)

    @classmethod
    def load(cls, settings: Settings) -> EmbeddedStore:
        as_of, tables = read_snapshot(settings)
        return cls(as_of, tables, settings)

    @property
    def as_of(self) -> str | None:
        return self._as_of

    async def lookup(self, login: LiveLogin, now: float) -> Lookup:
        tables, as_of, values = self.tables, self._as_of, self.values  # one consistent snapshot
        speed, recent = self.speed.lookup(login, now, snapshot_cutoff_s(as_of))
        ip, dev = login.keys.get("ip"), login.keys.get("device")
        return Lookup(as_of, tables["account"].get(login.account_id),
                      tables["ip"].get(ip) if ip else None, tables["device"].get(dev) if dev else None,
                      speed, recent, {"account": values["account"].row(login.account_id),
                                      "ip": values["ip"].row(ip), "device": values["device"].row(dev)})

    async def record(self, logins: list[LiveLogin], now: float) -> None:
        for x in logins:
            self.speed.record(x, now)

    async def refresh(self) -> bool:
        if self.settings is None or published_as_of(self.settings) == self._as_of:
            return False
        as_of, tables = await asyncio.to_thread(read_snapshot, self.settings)
        values = await asyncio.to_thread(snapshot_values, tables)
        self._as_of, self.tables, self.values = as_of, tables, values  # swapped in one step
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
