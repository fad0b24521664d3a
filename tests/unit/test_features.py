import numpy as np
import pytest

from ato.features.geo import haversine_km, implied_speed_kmh
from ato.features.habits import circular_hour_stats, hour_deviation, hour_distance
from ato.features.windows import counts_before, distinct_before

pytestmark = pytest.mark.unit


def test_counts_only_strictly_before_and_inside_the_window() -> None:
    times = np.array([0, 100, 200, 200, 400])
    failed = np.array([1, 0, 1, 1, 0])
    attempts, fails = counts_before(times, failed, np.array([200, 201, 500, 0]), 300)
    assert attempts.tolist() == [2, 4, 3, 0]  # at 200: events at 0 and 100 (not the two at 200)
    assert fails.tolist() == [1, 3, 2, 0]


def test_adding_a_later_event_changes_nothing_before_it() -> None:
    times, failed = np.array([0, 50]), np.array([0, 1])
    before = counts_before(times, failed, np.array([60]), 300)
    after = counts_before(np.append(times, 70), np.append(failed, 1), np.array([60]), 300)
    assert [x.tolist() for x in before] == [x.tolist() for x in after]


def test_distinct_values_in_window() -> None:
    times = np.array([0, 10, 20, 30, 400])
    accts = np.array(["a", "b", "a", "c", "d"], dtype=object)
    got = distinct_before(times, accts, np.array([25, 31, 405, 0, 320]), 300)
    assert got.tolist() == [2, 3, 1, 0, 2]  # at 320 the window [20, 320) holds a, c


def test_haversine_and_speed() -> None:
    ny_london = haversine_km(40.71, -74.01, 51.51, -0.13)
    assert ny_london == pytest.approx(5570, rel=0.01)
    assert implied_speed_kmh(ny_london, 3600.0) == pytest.approx(5570, rel=0.01)
    assert implied_speed_kmh(10.0, 1.0) == pytest.approx(600)  # floored at a minute
    assert np.isnan(haversine_km(np.nan, 0, 0, 0)) and np.isnan(implied_speed_kmh(10.0, np.nan))


def test_circular_hours() -> None:
    mean, spread = circular_hour_stats(np.array([23.0, 1.0, 0.0, 0.0]))
    assert min(mean, 24 - mean) == pytest.approx(0, abs=1e-6)
    assert 0 < spread < 2
    assert hour_distance(23.0, 1.0) == pytest.approx(2) and hour_distance(1.0, 23.0) == pytest.approx(2)
    assert hour_deviation(12.0, 0.0, 2.0) == pytest.approx(6) and hour_deviation(12.0, 0.0, 0.1) == pytest.approx(24)
    assert np.isnan(hour_deviation(12.0, np.nan, 2.0)) and np.isnan(hour_deviation(12.0, 0.0, np.nan))
    assert np.isnan(circular_hour_stats(np.array([]))[0])
