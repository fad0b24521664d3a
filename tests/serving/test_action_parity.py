"""Sensitive actions, batch and serving held equal: a simulated day's logins and actions replayed in
order through the running API (uvicorn, embedded store, the snapshot of the day before) give, for
every payment and account change, the feature vector gold/action_training_set holds for it. The
action model trained on those rows is installed in the champion first, so the route scores for real."""

from __future__ import annotations

import json
import math
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ato.features.actions import ACTION_FEATURES
from ato.online.replay.actions import replay_actions
from ato.settings import Settings
from tests.serving.conftest import PARITY_DAY, serving_env, start_api

pytestmark = [pytest.mark.serving, pytest.mark.spark]
FIRST_DAY = PARITY_DAY - timedelta(days=5)  # 08-01: the small world's first day


@pytest.fixture(scope="module")
def action_rows(serving_world: tuple[Settings, Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Action rows for every matured day, an action model on them, copied into the champion's folder
    (so the API started afterwards scores with it); the model's metrics, or None without one."""
    from ato.model.registry import champion, registry_dir
    from ato.sensitive.model import META_FILE, MODEL_FILE, train_action_model
    from ato.sensitive.rows import build_action_rows

    s = serving_world[0]
    tmp = tmp_path_factory.mktemp("action-model")
    n = build_action_rows(s, [FIRST_DAY + timedelta(days=i) for i in range(6)])
    metrics = train_action_model(s, tmp)
    version = champion(s)
    if metrics is not None and version is not None:
        for f in (MODEL_FILE, META_FILE):
            shutil.copy(tmp / f, registry_dir(s) / version / f)
    print(f"action rows: {n}; model: {json.dumps(metrics)}")
    return {"rows": n, "version": version, "metrics": metrics}


def test_the_action_model_is_trained_and_spends_its_budget_on_validation(action_rows: dict[str, Any]) -> None:
    m = action_rows["metrics"]
    assert m is not None, "no action model: no labelled takeover action in the training days"
    v = m["validation"]
    assert v["legit_actions"] > 0 and v["legit_challenge_rate"] <= m["budget"]
    assert m["thresholds"]["temporary_lock"] >= m["thresholds"]["manual_review"] >= m["thresholds"]["step_up_mfa"]


def same(a: Any, b: Any) -> bool:
    fa = math.nan if a is None else float(a)
    fb = math.nan if b is None or pd.isna(b) else float(b)
    return bool(np.isclose(fa, fb, rtol=1e-9, atol=1e-9, equal_nan=True))


def test_a_replayed_day_of_actions_matches_the_action_training_set(
        serving_world: tuple[Settings, Path, Path], action_rows: dict[str, Any], tmp_path: Path) -> None:
    from ato import deltars
    from ato.tables import ACTION_TRAINING

    s, world, root = serving_world
    rows = deltars.read_dates(s, "gold", ACTION_TRAINING, "action_date", PARITY_DAY, PARITY_DAY).to_pandas()
    rows = rows.set_index("event_id")
    shutil.copytree(root / "online", tmp_path / "online")
    api = start_api(serving_env(s, world, tmp_path), tmp_path)
    try:
        pairs = replay_actions(api.post, api.settings, PARITY_DAY)
    finally:
        api.stop()
    served = {req["event_id"]: resp for req, resp in pairs}
    assert len(served) == len(pairs) == len(rows), "every action of the day scored once, as many as training rows"
    assert set(served) == set(rows.index)
    want = action_rows["version"] if action_rows["metrics"] is not None else None
    assert {r["model_version"] for r in served.values()} == {want}, "the action model (if any) answered"
    bad: dict[str, list[tuple[str, Any, Any]]] = {}
    for eid, resp in served.items():
        for f in ACTION_FEATURES:
            if not same(resp["features"][f], rows.loc[eid, f]):
                bad.setdefault(f, []).append((eid, resp["features"][f], rows.loc[eid, f]))
    assert not bad, f"features that differ from the training set: { {f: (len(v), v[:3]) for f, v in bad.items()} }"
    # the signals the features exist for do occur on this day (the comparison is not over constants)
    for f in ("payee_new", "device_new", "same_ip_as_login", "amount_ratio", "s_since_login"):
        assert rows[f].nunique() > 1, f
    actions = pd.Series([r["action"] for r in served.values()]).value_counts().to_dict()
    audit = [json.loads(x) for p in (tmp_path / "audit").rglob("*actions-*.jsonl") for x in p.read_text().splitlines()]
    assert len(audit) == len(pairs)
    raw = {req.get("ip") for req, _ in pairs} | {req.get("device_id") for req, _ in pairs}
    text = "".join(p.read_text() for p in (tmp_path / "audit").rglob("*actions-*.jsonl"))
    assert not any(v and v in text for v in raw), "a raw IP or device id reached the audit log"
    print(f"action parity: {len(pairs)} actions x {len(ACTION_FEATURES)} features equal; "
          f"{int(rows['label'].sum())} labelled takeover actions; decisions {actions}")
