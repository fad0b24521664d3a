"""Training/serving parity: a simulated day replayed through the running API (uvicorn, embedded
store; then Redis) gives, for every login, the feature vector gold/training_set holds for it.
Parity is about features, not latency: `serving_env` gives the chain time enough that the model
answers every login however busy the machine is (no store timeout, budget or shed can intervene)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ato.features.columns import CATEGORICAL_FEATURES, FEATURES
from ato.online.replay.feed import replay_day
from ato.settings import Settings
from tests.serving.conftest import PARITY_DAY, Redis, serving_env, start_api

pytestmark = [pytest.mark.serving, pytest.mark.spark]


def training_rows(s: Settings) -> pd.DataFrame:
    from ato import deltars
    from ato.tables import TRAINING

    rows = deltars.read_dates(s, "gold", TRAINING, "login_date", PARITY_DAY, PARITY_DAY)
    return rows.to_pandas().set_index("event_id")


def mismatches(served: dict[str, dict[str, Any]], rows: pd.DataFrame) -> dict[str, list[tuple[str, Any, Any]]]:
    """Per feature, the (event id, served, training) triples that differ beyond float tolerance."""
    bad: dict[str, list[tuple[str, Any, Any]]] = {}
    for eid, feats in served.items():
        row = rows.loc[eid]
        for f in FEATURES:
            a, b = feats.get(f), row[f]
            if f in CATEGORICAL_FEATURES:
                same = a == b
            else:
                fa = math.nan if a is None else float(a)
                fb = math.nan if b is None or pd.isna(b) else float(b)
                same = bool(np.isclose(fa, fb, rtol=1e-9, atol=1e-9, equal_nan=True))
            if not same:
                bad.setdefault(f, []).append((eid, a, b))
    return bad


def replay_and_compare(s: Settings, env: dict[str, str], root: Path) -> tuple[int, int]:
    api = start_api(env, root)
    try:
        pairs = replay_day(api.post, api.settings, PARITY_DAY, score=lambda _: True, explain=True)
    finally:
        api.stop()
    rows = training_rows(s)
    served = {req["event_id"]: resp["features"] for req, resp in pairs}
    assert len(served) == len(pairs) == len(rows), "every login of the day scored once, as many as training rows"
    assert set(served) == set(rows.index)
    assert {resp["fallback_level"] for _, resp in pairs} == {0}, "the model answered every login"
    bad = mismatches(served, rows)
    detail = {f: (len(v), v[:3]) for f, v in bad.items()}
    assert not bad, f"features that differ from the training set: {detail}"
    return len(pairs), len(FEATURES)


def test_replayed_day_through_the_embedded_store_matches_the_training_set(
        serving_world: tuple[Settings, Path, Path], tmp_path: Path) -> None:
    s, world, root = serving_world
    shutil.copytree(root / "online", tmp_path / "online")
    n, k = replay_and_compare(s, serving_env(s, world, tmp_path), tmp_path)
    print(f"parity (embedded): {n} logins x {k} features equal")
    assert n > 100


def test_replayed_day_through_redis_matches_the_training_set(
        serving_world: tuple[Settings, Path, Path], redis_server: Redis, tmp_path: Path) -> None:
    import redis

    from ato.online.snapshot.redis import publish_to_redis

    s, world, root = serving_world
    redis.Redis.from_url(redis_server.url).flushdb()
    shutil.copytree(root / "online", tmp_path / "online")
    env = serving_env(s, world, tmp_path, ATO_STORE="redis", ATO_REDIS_URL=redis_server.url)
    from ato.settings import load_settings

    published = publish_to_redis(load_settings(environ=env))
    assert published["as_of"] == "2026-08-05" and published["rows"]["account"] > 0
    n, k = replay_and_compare(s, env, tmp_path)
    print(f"parity (redis): {n} logins x {k} features equal")
