"""Sliding-window counters over a key's events, counting only events strictly before a moment.

The plain per-key definition of the speed-layer windows: `ato.features.speed` runs the
same counts over many keys at once (what Spark and serving call), and the unit tests hold
it equal to these on random events.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

WINDOWS_S: dict[str, int] = {"5m": 300, "1h": 3_600, "24h": 86_400}


def counts_before(times: np.ndarray, failed: np.ndarray, at: np.ndarray, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(attempts, failures) among events with `at - window_s <= time < at`, for each query time.

    `times` must be sorted ascending; `failed` is a 0/1 array aligned with `times`.
    """
    times = np.asarray(times, dtype=np.float64)
    at = np.asarray(at, dtype=np.float64)
    hi = np.searchsorted(times, at, side="left")
    lo = np.searchsorted(times, at - window_s, side="left")
    cum = np.concatenate([[0], np.cumsum(np.asarray(failed, dtype=np.int64))])
    return hi - lo, cum[hi] - cum[lo]


def distinct_before(times: np.ndarray, values: np.ndarray, at: np.ndarray, window_s: float) -> np.ndarray:
    """Distinct `values` among events with `at - window_s <= time < at`, for each query time.

    Two pointers over the sorted events; queries may come in any order.
    """
    times = np.asarray(times, dtype=np.float64)
    at = np.asarray(at, dtype=np.float64)
    order = np.argsort(at, kind="stable")
    out = np.zeros(len(at), dtype=np.int64)
    seen: Counter[object] = Counter()
    lo = hi = 0
    for q in order:
        t = at[q]
        while hi < len(times) and times[hi] < t:
            seen[values[hi]] += 1
            hi += 1
        while lo < hi and times[lo] < t - window_s:
            seen[values[lo]] -= 1
            if not seen[values[lo]]:
                del seen[values[lo]]
            lo += 1
        out[q] = len(seen)
    return out
