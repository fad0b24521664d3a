"""`ato shadow` and `ato promote --require-live`: a challenger is promoted only after its shadow
record in gold/shadow_daily shows it not worse than the champion on live traffic (enough labelled
takeovers, recall of challenges within the allowed drop, net benefit not lower)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from ato import deltars
from ato.model import registry
from ato.monitoring.metrics import COUNTS
from ato.monitoring.shadow import live_verdict
from ato.online.decide.models import Models
from ato.settings import Settings
from ato.tables import SHADOW_DAILY
from tests.conftest import TEST_KEY, make_settings
from tests.unit.test_cli import run_json

pytestmark = pytest.mark.unit


def register(s: Settings, models: Models, name: str, champion: bool = False) -> None:
    """A loadable version (the tiny scorers saved as training saves them), compared with v1."""
    folder = Path(s.paths.models) / name
    folder.mkdir(parents=True)
    scorers = {n: sc.save(folder) for n, sc in (("model", models.model), ("fallback", models.fallback)) if sc}
    (folder / "bundle.json").write_text(json.dumps({"scorers": scorers}))
    pr = 0.5 if name == "v1" else 0.6
    (folder / "metrics.json").write_text(json.dumps({
        "test": {"model": {"pr_auc": pr, "recall_at_1pct_stepup": 0.6},
                 "rules": {"pr_auc": 0.1, "recall_at_1pct_stepup": 0.2}},
        "champion_on_same_test": None if name == "v1" else
        {"version": "v1", "metrics": {"pr_auc": 0.5, "recall_at_1pct_stepup": 0.6}}}))
    if champion:
        registry.promote(s, name)


def side(day: date, name: str, caught: int, missed: int, legit_challenged: int, legit: int = 5000) -> dict[str, Any]:
    """One shadow_daily row of counts: takeovers stepped up or allowed, legit logins stepped up or allowed."""
    row: dict[str, Any] = {k: 0 for k in COUNTS}
    row |= {"decided_date": day, "model_version": "v1", "shadow_version": "v2", "side": name,
            "ato": caught + missed, "ato_step_up": caught, "ato_allow": missed, "legit": legit,
            "legit_step_up": legit_challenged, "legit_allow": legit - legit_challenged,
            "n_step_up": caught + legit_challenged, "n_allow": missed + legit - legit_challenged}
    row["decisions"] = row["n_step_up"] + row["n_allow"]
    return row


def write_shadow(s: Settings, rows: list[dict[str, Any]]) -> None:
    deltars.write(s, "gold", SHADOW_DAILY, pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False),
                  mode="overwrite", schema_mode="overwrite")


def test_live_verdict_needs_evidence_recall_and_net_benefit(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    days = [date(2026, 9, d) for d in (1, 2, 3)]
    few = [side(d, n, 2, 1, 50) for d in days for n in ("champion", "shadow")]
    v = live_verdict(pd.DataFrame(few), s)
    assert not v.promote and "not enough live evidence: 9 labelled takeovers over 3 days" in v.why
    worse = [side(d, "champion", 8, 2, 50) for d in days] + [side(d, "shadow", 6, 4, 50) for d in days]
    assert live_verdict(pd.DataFrame(worse), s).why.startswith("loses recall live: 3 days")
    noisy = [side(d, "champion", 8, 2, 50) for d in days] + [side(d, "shadow", 8, 2, 2000) for d in days]
    assert live_verdict(pd.DataFrame(noisy), s).why.startswith("lower net benefit live")
    better = [side(d, "champion", 6, 4, 50) for d in days] + [side(d, "shadow", 9, 1, 60) for d in days]
    v = live_verdict(pd.DataFrame(better), s)
    assert v.promote and "recall of challenges 0.900 vs champion 0.600" in v.why


def test_shadow_then_promotion_on_live_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.api.builders import tiny_models

    monkeypatch.setenv("ATO_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("ATO_LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("ATO_HMAC_KEY", TEST_KEY)
    s = make_settings(tmp_path, ATO_MODEL_DIR=str(tmp_path / "models"), ATO_LAKE_ROOT=str(tmp_path / "lake"))
    models = tiny_models(s)
    register(s, models, "v1", champion=True)
    register(s, models, "v2")
    code, doc = run_json(capsys, "promote", "--challenger", "--require-live")  # what the nightly runs
    assert code == 0 and doc["why"] == "no shadow challenger" and doc["champion"] == "v1"
    assert run_json(capsys, "promote")[0] == run_json(capsys, "promote", "v2", "--challenger")[0] == 2
    code, doc = run_json(capsys, "shadow", "v1")
    assert code == 3 and "is the champion" in doc["error"]
    code, doc = run_json(capsys, "shadow", "v2")
    assert code == 0 and doc["challenger"] == "v2" and doc["not_worse"] is False
    assert "not enough live evidence: 0 labelled takeovers" in doc["why"]
    code, doc = run_json(capsys, "promote", "v2", "--require-live")
    assert code == 3 and "on live traffic: not enough live evidence" in doc["why"] and doc["champion"] == "v1"

    days = [date(2026, 9, d) for d in (1, 2, 3)]
    write_shadow(s, [side(d, "champion", 8, 2, 50) for d in days] + [side(d, "shadow", 5, 5, 50) for d in days])
    code, doc = run_json(capsys, "promote", "v2", "--require-live")
    assert code == 3 and "loses recall live" in doc["why"]
    code, doc = run_json(capsys, "models")
    assert doc["shadow"] == "v2" and [v["shadow"] for v in doc["versions"]] == [False, True]

    write_shadow(s, [side(d, "champion", 6, 4, 50) for d in days] + [side(d, "shadow", 9, 1, 50) for d in days])
    code, doc = run_json(capsys, "promote", "--challenger", "--require-live")
    assert code == 0 and doc["champion"] == "v2" and "on live traffic: not worse live" in doc["why"]
    assert registry.challenger(s) is None  # the shadow took over
    assert [h["action"] for h in registry.history(s)] == ["promote", "shadow", "promote", "unshadow"]
