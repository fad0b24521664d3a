"""The serving hot path's shortcuts equal the references they replace: one-row TreeSHAP contributions
and LightGBM's `pred_contrib`, the reason table and `top_reasons`, precomputed calibration and tiers,
the snapshot's float matrices and its row dicts."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from ato.features.columns import FEATURES
from ato.model.calibration import Calibrator
from ato.model.reasons import reason_table, top_reasons, top_row_reasons
from ato.model.rowpredict import RowContrib
from ato.model.tiers import Tiers
from ato.online.decide.store import EmbeddedStore
from ato.online.decide.vector import feature_vector, live_login
from tests.api.builders import (
    AS_OF,
    api_settings,
    bare_enricher,
    synthetic_rows,
    tiny_scorer,
    tiny_snapshot,
)

pytestmark = pytest.mark.unit


def _matrix(n: int = 200, seed: int = 11) -> tuple[object, np.ndarray]:
    """The tiny champion's booster and rows it has not seen, with missing values and unseen codes."""
    scorer = tiny_scorer("model", FEATURES, synthetic_rows())
    X = scorer.matrix(synthetic_rows(n, seed))
    rng = np.random.default_rng(seed)
    X[rng.random(X.shape) < 0.15] = np.nan
    X[:5, -1] = 99.0  # a category code the booster never saw
    return scorer, X


def test_one_row_contributions_equal_pred_contrib() -> None:
    scorer, X = _matrix()
    booster = scorer.booster  # type: ignore[attr-defined]
    fast = RowContrib(booster, booster.current_iteration(), X.shape[1])
    want = booster.predict(X, pred_contrib=True)
    got = np.vstack([fast(X[[i]]) for i in range(len(X))])
    assert got.shape == want.shape == (len(X), len(FEATURES) + 1)
    assert np.array_equal(got, want), "the fast path is LightGBM's own TreeSHAP, bit for bit"
    assert (np.abs(got[:, :-1]) > 0).any(), "the rows do move the score"
    with pytest.raises(ValueError, match="expected"):
        fast(X[[0], :-1])


def test_row_reasons_equal_top_reasons_of_the_frame_path() -> None:
    scorer, X = _matrix()
    contrib = scorer.booster.predict(X, pred_contrib=True)  # type: ignore[attr-defined]
    texts = reason_table(FEATURES)
    for k in (0, 1, 3, 10):
        want = top_reasons(contrib, FEATURES, k)
        assert [top_row_reasons(contrib[i], texts, k) for i in range(len(X))] == want
        assert [scorer.row_reasons(X[[i]], k) for i in range(len(X))] == want  # type: ignore[attr-defined]
    assert any(len(r) == 3 for r in top_reasons(contrib, FEATURES, 3))
    tie = np.array([[0.5, 0.5, 0.0, 0.5, -1.0]])  # equal contributions: feature order decides
    names = ("logins_30d", "new_device", "new_ip", "new_country")
    assert top_row_reasons(tie[0], reason_table(names), 3) == top_reasons(tie, names, 3)[0]


def test_precomputed_calibration_and_tiers_equal_the_array_paths() -> None:
    cal = Calibrator((-3.0, -1.0, -1.0, 0.5, 2.0), (0.0, 0.1, 0.2, 0.6, 1.0))
    raw = np.r_[np.linspace(-5, 5, 401), -1.0, 0.5, -3.0, 2.0, np.inf, -np.inf]
    assert [cal.one(float(r)) for r in raw] == cal(raw).tolist()
    assert np.isnan(cal.one(float("nan")))
    rng = np.random.default_rng(5)  # an isotonic fit's shape: many steps, repeated x, flat runs
    x = np.sort(np.r_[rng.normal(size=300), rng.normal(size=40).round(1).repeat(2)])
    y = np.sort(rng.random(len(x))).round(2)
    big = Calibrator(tuple(x.tolist()), tuple(y.tolist()))
    raw = np.r_[rng.normal(scale=2, size=20_000), x, x[::7] + 1e-12]
    assert [big.one(float(r)) for r in raw] == big(raw).tolist()
    platt = Calibrator((-1e6, 1e6), (-7.0 - 1.3e6, -7.0 + 1.3e6), "platt", logit_in=True, logit_out=True)
    probs = np.r_[rng.random(2_000), 0.0, 1.0, 1e-300]
    assert [platt.one(float(r)) for r in probs] == platt(probs).tolist(), "the logit calibrators too"
    tiers = Tiers({"temporary_lock": 0.9, "step_up_mfa": 0.2, "manual_review": 0.6})
    p = np.r_[np.linspace(0, 1, 101), 0.2, 0.6, 0.9]
    assert [tiers.action_one(float(v)) for v in p] == tiers.action(p).tolist()


def test_new_ids_are_random_version_4_uuids() -> None:
    import uuid

    from ato.online.decide.records import new_id

    ids = [new_id() for _ in range(200)]
    assert len(set(ids)) == 200
    for i in ids:
        u = uuid.UUID(hex=i)
        assert u.hex == i and u.version == 4 and u.variant == uuid.RFC_4122


def test_vector_from_the_snapshot_matrices_equals_the_vector_from_the_rows(tmp_path: Path) -> None:
    """The embedded store's float rows give the same vector as converting its row dicts value by value
    (missing rows, None and unparseable values included)."""
    settings = api_settings(tmp_path)
    tables = tiny_snapshot(settings)
    odd = tables["account"]["acct_0000002"]
    odd.update(logins_30d=None, failed_logins_30d="n/a", payments_30d=7, hour_spread=float("nan"))
    store = EmbeddedStore(AS_OF, tables)
    enricher = bare_enricher(settings)
    seen = 0
    for account, ip, device in (("acct_0000001", "20.0.1.7", "dev-test-1"), ("acct_0000002", "20.0.9.9", None),
                                ("acct_unknown", "20.0.1.7", "dev-x")):
        e = enricher.enrich(account, 1786017600.0, "success", "web", ip, "Mozilla/5.0 Chrome/120.0", device, {})
        login = live_login(e, f"e-{account}")
        lk = asyncio.run(store.lookup(login, 1786017600.0))
        assert lk.values is not None
        fast = feature_vector(e, lk, login)
        slow = feature_vector(e, dataclasses.replace(lk, values=None), login)
        assert list(fast) == list(slow)
        assert all(a == b or (a != a and b != b) for a, b in zip(fast.values(), slow.values(), strict=True))
        seen += sum(isinstance(v, float) and v == v for v in fast.values())
    assert seen > 50, "the vectors carry values, not only NaN"
