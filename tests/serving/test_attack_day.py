"""The attack-day benchmark's core on a small wave, as a correctness test (no timing): the trained small
world's day 08-06 through `ato serve --workers 2` on Redis, once alone and once with a credential-stuffing
wave of 4,000 attempts mixed in, then a hot key. Nothing answers 5xx, attack mode switches on, the hot
key is challenged once past the velocity guardrail (10 successes in 5 minutes) and from then on, and
valid-credential stuffing logins are stepped up or locked (>= 99 %: not met yet, see the xfail)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from ato.settings import Settings
from benchmarks.attack_day import run_attack_day, scaled_conf
from benchmarks.attack_report import summarize
from tests.serving.conftest import PARITY_DAY, Redis, serving_env

pytestmark = [pytest.mark.serving, pytest.mark.spark]
CONNS = 8


@pytest.fixture(scope="module")
def day(serving_world: tuple[Settings, Path, Path], redis_server: Redis,
        tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The attack day run once for the module: its summary (`benchmarks.attack_report.summarize`)."""
    s, world, root = serving_world
    own = tmp_path_factory.mktemp("attack-day")
    shutil.copytree(root / "online", own / "online")
    env = serving_env(s, world, own, ATO_WORLD_DIR=str(world))
    res = run_attack_day(env, redis_server.url, scaled_conf(4000, score_failures=0.3), day=PARITY_DAY, rate=200.0,
                         hot_rate=100.0, hot_seconds=3.0, conns=CONNS, progress_s=0.0, log_dir=own / "logs")
    return summarize(res)


def test_the_attack_day_is_answered_and_attack_mode_switches_on(day: dict[str, Any]) -> None:
    c = day["counts"]
    assert c["valid_scored"] > 0 and c["failed_events"] > 0 and c["failed_scored"] > 0 and c["legit"] > 0, c
    assert day["errors"] == {"baseline": 0, "wave": 0, "hot": 0}, day["statuses"]
    assert day["attack_mode_on"], "ato_attack_mode never read 1 on /metrics during the wave"


def test_the_hot_key_is_challenged_past_the_velocity_limit(day: dict[str, Any]) -> None:
    h = day["hot"]
    # the 11th success within 5 minutes meets account_success_burst; a few may be in flight on the other
    # worker when it is read, hence up to CONNS later, and every later one is challenged
    assert h["first_challenge"] is not None and h["first_challenge"] <= 10 + CONNS, h
    assert h["challenged_after"] == 1.0, h


@pytest.mark.xfail(strict=True, reason="issue 13's >= 99 % goal, not met (CHANGELOG issue 13): the wave's first "
                                       "valid-credential successes come from IPs with fewer than 5 attempts in 5 "
                                       "minutes, before attack mode flags their network, and are allowed (38 of 43 "
                                       "caught on the small world)")
def test_valid_credential_stuffing_logins_are_stepped_up_or_locked(day: dict[str, Any]) -> None:
    assert day["valid_caught"] >= 0.99, (day["valid_actions"], day["guardrail_hits"])
