"""Fold accounts in parallel: `read_events`' frame (sorted by account) cut into contiguous slices at
account boundaries, each slice folded in its own forked process. Accounts fold independently, and
the slices' results come back in slice order, so the output is the serial fold's, row for row.

Fork, not spawn: the children inherit the frame instead of receiving it pickled, and they run only
pandas and pure Python (no Spark, no Arrow threads, no logging), so the JVM or the threads of the
parent process are never touched in a child.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")
MIN_ROWS = 200_000  # below this a fork costs more than it saves: one process folds it all

_frame: pd.DataFrame | None = None  # the frame the forked children read their slice of


def processes(configured: int) -> int:
    """`batch.fold_processes`, 0 meaning one per CPU core."""
    return configured if configured > 0 else (os.cpu_count() or 1)


def account_slices(accounts: Any, parts: int) -> list[tuple[int, int]]:
    """[start, end) row ranges cutting a sorted column of account ids into at most `parts` pieces of
    about equal rows, never splitting an account."""
    import numpy as np

    n = len(accounts)
    if n == 0:
        return []
    cuts = [0]
    for i in range(1, parts):
        at = i * n // parts  # below n, as i < parts
        at = int(np.searchsorted(accounts, accounts[at], side="left"))  # back to the account's first row
        if at > cuts[-1]:
            cuts.append(at)
    cuts.append(n)
    return [(a, b) for a, b in pairwise(cuts) if b > a]


def _fold_slice(job: tuple[Callable[[pd.DataFrame], T], int, int]) -> T:
    fn, start, end = job
    assert _frame is not None
    return fn(_frame.iloc[start:end])


def map_slices(df: pd.DataFrame, fn: Callable[[pd.DataFrame], T], workers: int,
               min_rows: int = MIN_ROWS) -> list[T]:
    """`fn` of each account slice of `df`, in slice order; `workers` processes when `df` has at least
    `min_rows` rows, else `[fn(df)]` in this process. `fn` must be a module-level function (or a
    `functools.partial` of one): it is pickled by name."""
    global _frame
    if workers <= 1 or len(df) < max(min_rows, 2):
        return [fn(df)]
    import multiprocessing

    slices = account_slices(df["account_id"].to_numpy(), workers)
    if len(slices) == 1:
        return [fn(df)]
    _frame = df
    try:
        with multiprocessing.get_context("fork").Pool(len(slices)) as pool:
            return pool.map(_fold_slice, [(fn, a, b) for a, b in slices], chunksize=1)
    finally:
        _frame = None
