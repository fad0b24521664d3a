"""Drift statistics (ato.monitoring.drift) on distributions whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ato.monitoring import drift
from ato.monitoring.drift import (
    SCORE,
    bin_categorical,
    bin_counts,
    bin_numeric,
    mix_shift,
    psi,
    reference,
)

pytestmark = pytest.mark.unit


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0, spike: float = 0.9) -> pd.DataFrame:
    count = np.where(rng.random(n) < spike, 0.0, rng.integers(1, 50, n).astype(float))
    x = rng.normal(shift, 1, n)
    x[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"x": x, "count": count, "channel": rng.choice(["web", "ios", "android"], n)})


def ks(a: np.ndarray, b: np.ndarray) -> float:
    v = drift.ks(a, b)
    assert v is not None
    return v


def test_same_distribution_is_stable_and_shifts_are_caught() -> None:
    rng = np.random.default_rng(1)
    ref = reference(_frame(rng, 20_000), ["x", "count", "channel"], ["channel"], rng.random(20_000))
    same, shifted = _frame(rng, 20_000), _frame(rng, 20_000, shift=0.5, spike=0.6)
    c_same = bin_counts({**same, SCORE: rng.random(20_000)}, ref)
    c_shift = bin_counts({**shifted, SCORE: rng.random(20_000) ** 2}, ref)
    for name in ("x", "count", "channel", SCORE):
        assert psi(ref["features"][name]["shares"], c_same[name]) < 0.02, name
    assert psi(ref["features"]["x"]["shares"], c_shift["x"]) > 0.2
    assert ks(ref["features"]["x"]["sample"], shifted["x"].to_numpy()) > 0.15
    assert ks(ref["features"][SCORE]["sample"], rng.random(20_000) ** 2) > 0.2
    assert ks(ref["features"]["x"]["sample"], same["x"].to_numpy()) < 0.05
    # 90 % zeros: the deciles collapse into few bins; KS still sees the spike thinning to 60 %.
    assert len(ref["features"]["count"]["edges"]) < 4
    assert ks(ref["features"]["count"]["sample"], shifted["count"].to_numpy()) > 0.25


def test_bins_are_right_closed_with_missing_first_and_other_last() -> None:
    assert list(bin_numeric(np.array([np.nan, 0.5, 1.0, 1.5, 2.0, 9.0]), [1.0, 2.0])) == [0, 1, 1, 2, 2, 3]
    assert list(bin_categorical(pd.Series(["web", None, "api", "ios"]), ["web", "ios"])) == [1, 0, 3, 2]


def test_psi_by_hand_and_mix_shift() -> None:
    assert psi([0.5, 0.5], [50, 50]) == 0
    assert psi([0.5, 0.5], [90, 10]) == pytest.approx(0.4 * math.log(0.9 / 0.5) - 0.4 * math.log(0.1 / 0.5))
    p, tvd = mix_shift({"new device": 80, "stuffing": 20}, {"new device": 20, "stuffing": 80})
    assert tvd == pytest.approx(0.6) and p > 0.2
    assert mix_shift({"a": 3}, {"a": 5}) == (0.0, 0.0)
    assert all(math.isnan(v) for v in mix_shift({"a": 3}, {}))
