"""The scoring chain's guards around the online store: a circuit breaker, and the store calls left
to finish in the background (lookups past their timeout, bounded; shed logins' writes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

MAX_LATE_LOOKUPS = 64  # timed-out store lookups left to finish in the background, at most
MAX_PENDING_WRITES = 1000  # shed logins' speed-layer writes under way, at most (more are dropped)


class StoreBusyError(RuntimeError):
    """Too many timed-out lookups are still finishing: the store is skipped for this request."""


class BreakerOpenError(RuntimeError):
    """The store is skipped while its circuit breaker is open."""


class Breaker:
    """Opens after `failures` consecutive store failures; after `open_s` lets one trial call through."""

    def __init__(self, failures: int, open_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.open_s, self.clock = failures, open_s, clock
        self.failures = 0
        self.open_until = 0.0
        self.trial = False

    @property
    def state(self) -> str:
        if self.failures < self.limit:
            return "closed"
        return "half_open" if self.clock() >= self.open_until else "open"

    def allow(self) -> bool:
        if self.failures < self.limit:
            return True
        if self.clock() >= self.open_until and not self.trial:
            self.trial = True  # one request tries the store; the rest keep falling back
            return True
        return False

    def success(self) -> None:
        self.failures, self.trial = 0, False

    def failure(self) -> None:
        self.failures += 1
        self.trial = False
        if self.failures >= self.limit:
            self.open_until = self.clock() + self.open_s


def retrieve(task: asyncio.Task[Any]) -> None:
    """A background lookup's failure is expected (the request already decided without it): mark it
    retrieved so asyncio does not log it as lost."""
    if not task.cancelled():
        task.exception()


class Background:
    """Store calls nobody waits for any more. A lookup past its timeout is left to finish, not
    cancelled: redis-py drops a connection whose read is cancelled, so every timeout cost a
    reconnect under load, and the login's write half-done. If it still succeeds, the store is up,
    only slower than the timeout (under a wave, mostly this worker's own busy loop): that closes
    the breaker, so the next logins try the store again instead of falling back for `breaker_open_s`."""

    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker
        self.late: set[asyncio.Task[Any]] = set()  # timed-out lookups still finishing
        self.pending: set[asyncio.Task[Any]] = set()  # writes nobody waits for

    async def within(self, call: Callable[[], Awaitable[Any]], timeout: float) -> Any:
        """`call()`'s answer within `timeout`; past it, TimeoutError and the call left to finish."""
        if len(self.late) >= MAX_LATE_LOOKUPS:
            raise StoreBusyError(f"{len(self.late)} timed-out lookups still under way")
        task = asyncio.ensure_future(call())
        task.add_done_callback(retrieve)
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            self.leave_running(task, self.late)
            raise

    def leave_running(self, task: asyncio.Task[Any], pool: set[asyncio.Task[Any]]) -> None:
        pool.add(task)
        task.add_done_callback(pool.discard)
        task.add_done_callback(self._late_success)

    def _late_success(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is None:
            self.breaker.success()

    def spawn(self, call: Callable[[], Awaitable[Any]]) -> None:
        """A write nobody waits for (dropped past MAX_PENDING_WRITES under way)."""
        if len(self.pending) > MAX_PENDING_WRITES:
            return
        task = asyncio.ensure_future(call())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def drain(self) -> None:
        """Wait for the writes still under way (at shutdown); timed-out lookups are cancelled
        (nobody waits for their answer)."""
        for t in list(self.late):
            t.cancel()
        while self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)
