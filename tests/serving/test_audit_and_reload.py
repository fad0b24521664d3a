"""What needs the real server (uvicorn in its own process, over the Spark-built small world): the
audit log keeps every acknowledged decision through a SIGKILL and loads into gold/decisions, and
a new snapshot and a new champion are picked up while requests stream, without a failed one.
Everything else about the API is tested in process (`tests/api`)."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ato.settings import Settings
from tests.builders import make_score_request
from tests.serving.conftest import PARITY_DAY, serving_env, start_api

pytestmark = [pytest.mark.serving, pytest.mark.spark]


def test_audit_log_keeps_every_acknowledged_decision_through_a_crash(
        serving_world: tuple[Settings, Path, Path], tmp_path: Path) -> None:
    from ato.decisions import load_decisions, read_audit

    s, world, root = serving_world
    shutil.copytree(root / "online", tmp_path / "online")
    a = start_api(serving_env(s, world, tmp_path), tmp_path)
    ids = []
    with a.client() as c:
        for i in range(40):
            r = c.post("/v1/score", json=make_score_request(account_id=f"acct_{i:07d}", event_id=f"ev-audit-{i}"))
            assert r.status_code == 200
            ids.append(r.json()["decision_id"])
    a.proc.send_signal(signal.SIGKILL)  # no shutdown hook runs
    a.proc.wait()
    from ato.online.decide.appender import OPEN, JsonlAppender

    assert [p.name.startswith(OPEN) for p in Path(a.settings.serving.audit_dir).rglob("*.jsonl")] == [True]
    JsonlAppender(a.settings.serving.audit_dir, "decisions").close()  # the next process on this host closes it
    day = date(2026, 8, 6)  # the requests' event day: a replayed decision is filed under it (clock: replay)
    table, files, bad, erased = read_audit(a.settings, day)
    assert files == 1 and bad == 0 and erased == 0 and sorted(table.column("decision_id").to_pylist()) == sorted(ids)
    text = "\n".join(p.read_text() for p in Path(a.settings.serving.audit_dir).rglob("*.jsonl"))
    assert "20.0.1.7" not in text and "dev-test-1" not in text, "no raw IP or device id in the audit log"
    first = load_decisions(a.settings, day)
    again = load_decisions(a.settings, day)
    assert first.rows == again.rows == 40 and first.by_level == {0: 40}
    from ato import deltars
    from ato.tables import DECISIONS

    gold = deltars.read(a.settings, "gold", DECISIONS).to_pandas()
    assert len(gold[gold["decided_date"] == day]) == 40, "re-loading a day replaces it"
    def strict(c: str) -> None:
        raise AssertionError(f"features_json holds {c}: not strict JSON")

    feats = json.loads(gold["features_json"].iloc[0], parse_constant=strict)
    assert feats["outcome"] == "success" and None in feats.values(), "missing features are null"


def test_new_snapshot_and_new_champion_are_picked_up_without_a_failed_request(
        serving_world: tuple[Settings, Path, Path], tmp_path: Path) -> None:
    from ato.model import registry
    from ato.online.snapshot.files import publish

    s, world, root = serving_world
    shutil.copytree(root / "online", tmp_path / "online")
    shutil.copytree(s.paths.models, tmp_path / "models")
    env = serving_env(s, world, tmp_path, ATO_MODEL_DIR=str(tmp_path / "models"))
    a = start_api(env, tmp_path)
    first = registry.champion(a.settings)
    assert first is not None
    statuses: list[int] = []
    seen: list[tuple[str, str]] = []
    stop = threading.Event()

    def load() -> None:
        with a.client() as c:
            while not stop.is_set():
                r = c.post("/v1/score", json=make_score_request(event_time="2026-08-07T09:00:00+00:00"))
                statuses.append(r.status_code)
                if r.status_code == 200:
                    seen.append((r.json()["snapshot_as_of"], r.json()["model_version"]))

    t = threading.Thread(target=load)
    t.start()
    try:
        _wait_for(lambda: len(seen) > 0)  # answered on the first snapshot and champion before they change
        publish(a.settings, PARITY_DAY)
        second = f"{first}-copy"
        shutil.copytree(tmp_path / "models" / first, tmp_path / "models" / second)
        registry._set_champion(a.settings, second, "promote", "hot-reload test")
        _wait_for(lambda: (PARITY_DAY.isoformat(), second) in seen)
        registry.rollback(a.settings)
        _wait_for(lambda: seen[-1] == (PARITY_DAY.isoformat(), first))
    finally:
        stop.set()
        t.join()
        a.stop()
    assert statuses and set(statuses) == {200}, "no request failed while the service reloaded"
    assert seen[0] == ("2026-08-05", first)


def _wait_for(cond: Any, timeout: float = 120.0) -> None:
    """Poll until `cond` holds (`timeout` only turns a service that never reloads into a failure)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("the service did not pick up the change in time")
