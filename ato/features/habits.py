"""An account's usual login hours as a circular statistic (23:00 and 01:00 are close)."""

from __future__ import annotations

import numpy as np

HOURS = 24.0


def circular_hour_stats(hours: np.ndarray) -> tuple[float, float]:
    """(mean hour in [0, 24), spread in hours) of login hours; (nan, nan) with no logins.

    Spread is the circular standard deviation, sqrt(-2 ln R), converted to hours.
    """
    h = np.asarray(hours, dtype=float)
    if h.size == 0:
        return float("nan"), float("nan")
    ang = h / HOURS * 2 * np.pi
    s, c = np.sin(ang).mean(), np.cos(ang).mean()
    r = min(1.0, float(np.hypot(s, c)))
    mean = float(np.mod(np.arctan2(s, c) / (2 * np.pi) * HOURS, HOURS))
    spread = float(np.sqrt(-2 * np.log(max(r, 1e-12))) / (2 * np.pi) * HOURS)
    return mean, spread


def hour_distance(hour: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Circular distance in hours between a login hour and the habitual mean (0 to 12)."""
    d = np.abs(np.mod(np.asarray(hour, dtype=float) - np.asarray(mean, dtype=float), HOURS))
    return np.minimum(d, HOURS - d)


def hour_deviation(hour: np.ndarray, mean: np.ndarray, spread: np.ndarray, floor: float = 0.5) -> np.ndarray:
    """How unusual the hour is for the account: circular distance over the habitual spread."""
    return hour_distance(hour, mean) / np.maximum(np.asarray(spread, dtype=float), floor)
