"""`ato replay --score-all` against a running API: every login of the day is scored once and filed
in the audit log (what the demo's monitoring then reads), each labelled with what it really was,
and the printed summary adds them up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ato.online.replay.feed import raw_logins
from ato.online.replay.run import print_replay, run_replay
from ato.settings import Settings, load_settings
from tests.api.builders import API_KEY
from tests.serving.conftest import PARITY_DAY, serving_env, start_api

pytestmark = [pytest.mark.serving, pytest.mark.spark]


def test_score_all_scores_and_audits_every_login_of_the_day_and_adds_them_up(
        serving_world: tuple[Settings, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    s, world, root = serving_world
    shutil.copytree(root / "online", tmp_path / "online")
    env = serving_env(s, world, tmp_path)
    api = start_api(env, tmp_path)
    monkeypatch.setenv("ATO_API_KEYS", API_KEY)  # the key run_replay sends to a service given by URL
    settings = load_settings(environ={**env, "ATO_WORLD_DIR": str(world)})
    try:
        rows, shown = run_replay(settings, PARITY_DAY, api.url, 0, takeovers=2, failed=2, legit=2, score_all=True)
    finally:
        api.stop()
    day = raw_logins(settings, [PARITY_DAY])
    assert sorted(req["event_id"] for _, req, _ in rows) == sorted(day["event_id"]), "each login scored once"
    assert not [t for t, _, _ in rows if t == "?"], "every login labelled from the ground truth"
    assert len(shown) == 6 and shown <= {req["event_id"] for _, req, _ in rows}
    audit = [ln for f in (tmp_path / "audit" / PARITY_DAY.isoformat()).glob("decisions-*.jsonl")
             for ln in f.read_text().splitlines()]
    assert len(audit) == len(rows), "the audit log holds the whole day for the nightly decisions step"
    print_replay(PARITY_DAY, rows, shown)
    out = capsys.readouterr().out
    allowed = sum(d["action"] == "allow" for _, _, d in rows)
    assert f"{len(rows):,} logins scored: allow {allowed:,}," in out
    takeovers = [d for t, _, d in rows if t.startswith("takeover")]
    challenged = sum(d["action"] != "allow" for d in takeovers)
    assert f"takeover: {challenged} of {len(takeovers)} challenged" in out and takeovers
