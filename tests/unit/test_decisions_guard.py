"""The decisions step never replaces a day with fewer decisions than gold/decisions holds (the
audit files of another host not collected yet) unless forced; the nightly CLI says why and how."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from ato.decisions import DecisionsShrink, held, load_decisions
from tests.builders import write_audit
from tests.conftest import TEST_KEY, make_settings

DAY = date(2026, 9, 14)


def _audit(folder: Path, host: str, n: int) -> None:
    write_audit(folder, DAY.isoformat(), host, n)


def test_a_day_is_not_replaced_by_fewer_decisions_unless_forced(tmp_path: Path) -> None:
    audit = tmp_path / "audit"
    s = make_settings(tmp_path, ATO_SERVING__AUDIT_DIR=str(audit))
    _audit(audit, "host-a", 3)
    _audit(audit, "host-b", 2)
    assert load_decisions(s, DAY).rows == 5 and held(s, DAY) == 5
    assert load_decisions(s, DAY).rows == 5, "the same files: a re-run is allowed"
    (audit / DAY.isoformat() / "decisions-host-b.jsonl").unlink()  # host b's file not collected
    with pytest.raises(DecisionsShrink, match="holds 5 decisions for 2026-09-14, the audit files here give 3"):
        load_decisions(s, DAY)
    assert held(s, DAY) == 5, "refused: the day is as it was"
    assert load_decisions(s, DAY, force=True).rows == 3 and held(s, DAY) == 3


def test_the_nightly_cli_refuses_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from ato.cli import main

    audit = tmp_path / "audit"
    for k, v in {"ATO_LAKE_ROOT": str(tmp_path / "lake"), "ATO_SERVING__AUDIT_DIR": str(audit),
                 "ATO_HMAC_KEY": TEST_KEY}.items():
        monkeypatch.setenv(k, v)
    _audit(audit, "host-a", 4)
    assert main(["nightly", "--date", DAY.isoformat(), "--steps", "decisions", "--json"]) == 0
    _audit(audit, "host-a", 1)
    capsys.readouterr()
    assert main(["nightly", "--date", DAY.isoformat(), "--steps", "decisions", "--json"]) == 2
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["ok"] is False and "--force-decisions" in out["error"] and "would lose 3" in out["error"]
    assert main(["nightly", "--date", DAY.isoformat(), "--steps", "decisions", "--force-decisions", "--json"]) == 0
