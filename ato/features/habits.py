"""An account's usual login hours as a circular statistic (23:00 and 01:00 are close)."""

from __future__ import annotations

import math

import numpy as np

HOURS = 24.0


def hour_of_day(epoch_s: float) -> float:
    """UTC hour of day as a fraction (13:30 -> 13.5) of epoch seconds."""
    return (epoch_s % 86_400.0) / 3_600.0


def hour_angle_sums(hours: np.ndarray) -> tuple[float, float, int]:
    """(sum of sin, sum of cos, n) of login hours on the 24 h circle: additive across days."""
    ang = np.asarray(hours, dtype=float) / HOURS * 2 * np.pi
    return float(np.sin(ang).sum()), float(np.cos(ang).sum()), int(ang.size)


def hour_stats_from_sums(sum_sin: np.ndarray, sum_cos: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean hour in [0, 24), spread in hours) from angle sums; NaN where n == 0.

    Spread is the circular standard deviation, sqrt(-2 ln R), converted to hours.
    The nightly snapshot stores the sums per day so a 30-day habit is a sum of partials.
    """
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s, c = np.asarray(sum_sin, dtype=float) / n, np.asarray(sum_cos, dtype=float) / n
        r = np.minimum(1.0, np.hypot(s, c))
        mean = np.mod(np.arctan2(s, c) / (2 * np.pi) * HOURS, HOURS)
        spread = np.sqrt(-2 * np.log(np.maximum(r, 1e-12))) / (2 * np.pi) * HOURS
    empty = n <= 0
    return np.where(empty, np.nan, mean), np.where(empty, np.nan, spread)


def circular_hour_stats(hours: np.ndarray) -> tuple[float, float]:
    """(mean hour in [0, 24), spread in hours) of login hours; (nan, nan) with no logins."""
    s, c, n = hour_angle_sums(hours)
    mean, spread = hour_stats_from_sums(np.array(s), np.array(c), np.array(n))
    return float(mean), float(spread)


def hour_distance(hour: float, mean: float) -> float:
    """Circular distance in hours between a login hour and the habitual mean (0 to 12)."""
    d = abs((hour - mean) % HOURS)
    return min(d, HOURS - d) if not math.isnan(d) else math.nan


def hour_deviation(hour: float, mean: float, spread: float, floor: float = 0.5) -> float:
    """How unusual the hour is for the account: circular distance over the habitual spread."""
    if math.isnan(spread):
        return math.nan
    return hour_distance(hour, mean) / max(spread, floor)
