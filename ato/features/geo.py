"""Distances between login locations and the speed they imply (impossible travel)."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088
MIN_INTERVAL_S = 60.0  # below a minute the implied speed says more about geo noise than travel


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km; NaN where any coordinate is missing."""
    p1, p2 = np.radians(np.asarray(lat1, dtype=float)), np.radians(np.asarray(lat2, dtype=float))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def implied_speed_kmh(distance_km: np.ndarray, interval_s: np.ndarray) -> np.ndarray:
    """km/h needed to cover the distance in the interval (floored at a minute); NaN if unknown."""
    dt = np.maximum(np.asarray(interval_s, dtype=float), MIN_INTERVAL_S)
    return np.asarray(distance_km, dtype=float) / (dt / 3600.0)
