"""Long loops on the event loop that let other requests run: a /v1/events batch of 500 logins
costs about 100 ms of work on the service's one event loop (validation, spool, enrichment, speed
layer), and a login scored meanwhile must neither wait for all of it nor be shed because the loop
ran behind (`serving.shed_lag_ms`). Every `STEP` items the loop is given back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

T = TypeVar("T")
STEP = 50  # items between two yields: a few ms of a batch's work, under serving.shed_lag_ms (10)


async def in_steps(items: Iterable[T], step: int = STEP) -> AsyncIterator[T]:
    """The items, giving the event loop back after every `step` of them."""
    for i, item in enumerate(items):
        yield item
        if i % step == step - 1:
            await asyncio.sleep(0)
