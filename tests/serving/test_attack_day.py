"""The attack-day benchmark's core on a small wave, as a correctness test (no timing): the trained small
world's day 08-06 through `ato serve --workers 2` on Redis, once alone and once with a credential-stuffing
wave of 4,000 attempts mixed in, then a hot key. Nothing answers 5xx, every valid-credential stuffing
login is stepped up or locked, attack mode switches on, and the hot key is challenged once past the
velocity guardrail (10 successes in 5 minutes) and from then on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ato.settings import Settings
from benchmarks.attack_day import run_attack_day, scaled_conf
from benchmarks.attack_report import summarize
from tests.serving.conftest import PARITY_DAY, Redis, serving_env

pytestmark = [pytest.mark.serving, pytest.mark.spark]
CONNS = 8


def test_a_small_attack_day_is_answered_and_detected(serving_world: tuple[Settings, Path, Path],
                                                      redis_server: Redis, tmp_path: Path) -> None:
    s, world, root = serving_world
    shutil.copytree(root / "online", tmp_path / "online")
    env = serving_env(s, world, tmp_path, ATO_WORLD_DIR=str(world))
    res = run_attack_day(env, redis_server.url, scaled_conf(4000, score_failures=0.3), day=PARITY_DAY, rate=200.0,
                         hot_rate=100.0, hot_seconds=3.0, conns=CONNS, progress_s=0.0, log_dir=tmp_path / "logs")
    r = summarize(res)
    c = r["counts"]
    assert c["valid_scored"] > 0 and c["failed_events"] > 0 and c["failed_scored"] > 0 and c["legit"] > 0, c
    assert r["errors"] == {"baseline": 0, "wave": 0, "hot": 0}, r["statuses"]
    assert r["valid_caught"] >= 0.99, (r["valid_actions"], r["guardrail_hits"])
    assert r["attack_mode_on"], "ato_attack_mode never read 1 on /metrics during the wave"
    h = r["hot"]
    # the 11th success within 5 minutes meets account_success_burst; a few may be in flight on the other
    # worker when it is read, hence up to CONNS later, and every later one is challenged
    assert h["first_challenge"] is not None and h["first_challenge"] <= 10 + CONNS, h
    assert h["challenged_after"] == 1.0, h
