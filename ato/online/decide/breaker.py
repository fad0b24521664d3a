"""The scoring chain's guards around the online store: a circuit breaker, and the bound on
lookups that timed out and are left to finish in the background."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

MAX_LATE_LOOKUPS = 64  # timed-out store lookups left to finish in the background, at most


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
