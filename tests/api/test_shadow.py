"""The shadow challenger in the decision chain: scored on the champion's own vector at level 0,
audited with its version, score and action, never changing the answer; a broken or slow shadow is
skipped and counted; no shadow below level 0 or when serving.shadow is off."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from ato.model.tiers import Tiers
from ato.online.decide.models import Models, load_models, wanted
from ato.settings import Settings
from tests.api.builders import FaultyStore, api_settings, build_app, serve, tiny_store
from tests.builders import make_score_request

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
SHADOW = "tiny-v2"
ANSWER = ("risk_score", "action", "reasons", "model_version", "fallback_level")


def with_shadow(models: Models, broken: bool = False) -> Models:
    """The champion with a challenger that steps up every login (or raises when it scores)."""
    assert models.model is not None
    shadow = dataclasses.replace(models.model, tiers=Tiers({"step_up_mfa": 0.0}))
    if broken:
        shadow = dataclasses.replace(shadow, booster=object())
    return dataclasses.replace(models, shadow_version=SHADOW, shadow=shadow)


def audit(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(x) for p in sorted(Path(settings.serving.audit_dir).rglob("*.jsonl"))
            for x in p.read_text().splitlines()]


async def _score(settings: Settings, models: Models, store: Any = None) -> tuple[dict[str, Any], str]:
    async with serve(build_app(settings, models, store)) as c:
        answer = (await c.post("/v1/score", json=make_score_request())).json()
        return answer, (await c.get("/metrics")).text


async def test_the_shadow_is_audited_and_never_changes_the_answer(tmp_path: Path, models: Models) -> None:
    plain_settings, shadow_settings = api_settings(tmp_path / "plain"), api_settings(tmp_path / "shadow")
    plain, _ = await _score(plain_settings, models)
    shadowed, metrics = await _score(shadow_settings, with_shadow(models))
    assert {k: shadowed[k] for k in ANSWER} == {k: plain[k] for k in ANSWER}
    assert plain["action"] == "allow" and plain["fallback_level"] == 0
    [line] = audit(shadow_settings)
    [folder] = [p.parent.name for p in Path(shadow_settings.serving.audit_dir).rglob("*.jsonl")]
    assert folder == "2026-08-06", "a replayed decision is filed under its event's day (clock: replay)"
    assert (line["shadow_version"], line["shadow_action"], line["model_action"]) == (SHADOW, "step_up_mfa", "allow")
    assert line["shadow_score"] == pytest.approx(line["risk_score"])  # same booster, same vector
    [before] = audit(plain_settings)
    assert "shadow_version" not in before and before["model_action"] == "allow"
    assert 'ato_shadow_decisions_total{result="other"} 1.0' in metrics


async def test_a_broken_or_slow_shadow_is_skipped_and_counted(tmp_path: Path, models: Models) -> None:
    s = api_settings(tmp_path / "broken")
    answer, metrics = await _score(s, with_shadow(models, broken=True))
    assert answer["fallback_level"] == 0 and answer["action"] == "allow"
    assert "shadow_version" not in audit(s)[0]
    assert 'ato_shadow_decisions_total{result="skipped"} 1.0' in metrics
    slow = api_settings(tmp_path / "slow", ATO_SERVING__SHADOW_SKIP_AFTER_MS="0.000001")
    answer, metrics = await _score(slow, with_shadow(models))
    assert answer["fallback_level"] == 0 and "shadow_version" not in audit(slow)[0]
    assert 'ato_shadow_decisions_total{result="skipped"} 1.0' in metrics


async def test_no_shadow_below_level_0(tmp_path: Path, models: Models) -> None:
    s = api_settings(tmp_path)
    answer, metrics = await _score(s, with_shadow(models), FaultyStore(tiny_store(s), "raise"))
    assert answer["fallback_level"] == 1
    [line] = audit(s)
    assert "shadow_version" not in line and line["model_action"] == line["action"]
    assert "ato_shadow_decisions_total{" not in metrics


def test_serving_loads_the_shadow_only_when_switched_on(tmp_path: Path, models: Models) -> None:
    from tests.unit.test_shadow_promotion import register

    s = api_settings(tmp_path)
    register(s, models, "v1", champion=True)
    register(s, models, "v2")
    from ato.model import registry

    registry.set_challenger(s, "v2")
    assert wanted(s) == ("v1", None) and load_models(s).shadow is None  # off by default
    on = api_settings(tmp_path, ATO_SERVING__SHADOW="true")
    loaded = load_models(on)
    assert wanted(on) == ("v1", "v2") and (loaded.version, loaded.shadow_version) == ("v1", "v2")
    assert loaded.shadow is not None and loaded.shadow.features == models.model.features  # type: ignore[union-attr]
