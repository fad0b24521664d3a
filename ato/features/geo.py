"""Distances between login locations and the speed they imply (impossible travel)."""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088
MIN_INTERVAL_S = 60.0  # below a minute the implied speed says more about geo noise than travel


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km; NaN where any coordinate is missing (one pair: per-login code)."""
    if any(math.isnan(v) for v in (lat1, lon1, lat2, lon2)):
        return math.nan
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


def implied_speed_kmh(distance_km: float, interval_s: float) -> float:
    """km/h needed to cover the distance in the interval (floored at a minute); NaN if unknown."""
    if math.isnan(distance_km) or math.isnan(interval_s):
        return math.nan
    return distance_km / (max(interval_s, MIN_INTERVAL_S) / 3600.0)
