"""The erasure register ingest checks (`ato.privacy.erased`), without a JVM: every erased subject
once, with the latest moment an erasure of it covered, erasures under way included; nothing
before the first erasure."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from ato.privacy.erased import PENDING, RECORDS, folder, register
from ato.privacy.forget import Erasure, forget_many, subject
from tests.conftest import make_settings

pytestmark = pytest.mark.unit


def test_the_register_holds_each_subject_once_with_its_latest_erasure(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    assert register(s) == {}, "nothing erased yet"
    [done] = forget_many(s, ["acct_0000042"])  # the real record, of a lake that does not hold the account
    a, b = subject(s, "acct_0000042"), subject(s, "acct_0000007")
    assert done.subject == a and register(s) == {a: datetime.fromisoformat(done.finished_at or "")}
    later = Erasure(a, "again", "2030-01-01T00:00:00+00:00", finished_at="2030-01-01T00:01:00+00:00")
    earlier = Erasure(a, "older", "2020-01-01T00:00:00+00:00", finished_at="2020-01-01T00:01:00+00:00")
    with (folder(s) / RECORDS).open("a") as f:
        f.writelines(json.dumps(e.as_dict()) + "\n" for e in (later, earlier))
    (folder(s) / PENDING / b).write_text(json.dumps({"subject": b, "started_at": "2026-08-01T00:00:00+00:00"}))
    assert register(s) == {a: datetime.fromisoformat("2030-01-01T00:01:00+00:00"),
                           b: datetime.fromisoformat("2026-08-01T00:00:00+00:00")}
    assert "acct_0000042" not in (folder(s) / RECORDS).read_text(), "the register holds hashes, never an id"


def test_the_decisions_step_leaves_out_an_erased_accounts_decisions_up_to_its_erasure(tmp_path: Path) -> None:
    """A login decided while `ato forget` ran has its audit line written after the erasure passed
    the file: loading the day must not bring the account back into gold/decisions. A decision after
    the erasure is new activity and is loaded, as are other accounts'."""
    from datetime import date

    from ato import deltars
    from ato.decisions import load_decisions
    from ato.tables import DECISIONS
    from tests.builders import write_audit

    audit = tmp_path / "audit"
    s = make_settings(tmp_path, ATO_SERVING__AUDIT_DIR=str(audit))
    write_audit(audit, "2026-09-14", "host-a", 5)  # acct_<i> decided at 10:00:0<i>
    day = date(2026, 9, 14)
    assert load_decisions(s, day).erased == 0, "nothing erased yet: nothing hashed, nothing left out"
    folder(s).mkdir(parents=True)
    with (folder(s) / RECORDS).open("a") as f:
        for account, start, end in (("acct_1", "10:00:00", "10:00:01.500"), ("acct_2", "09:00:00", "09:00:01")):
            f.write(json.dumps(Erasure(subject(s, account), "erasure request", f"2026-09-14T{start}+00:00",
                                       finished_at=f"2026-09-14T{end}+00:00").as_dict()) + "\n")
    (folder(s) / PENDING).mkdir()
    (folder(s) / PENDING / subject(s, "acct_3")).write_text(
        json.dumps({"subject": subject(s, "acct_3"), "started_at": "2026-09-14T10:00:05+00:00"}))
    # gold/decisions still holds all five (loaded before the erasures): leaving two out is no shrink
    loaded = load_decisions(s, day)
    assert (loaded.rows, loaded.erased) == (3, 2)
    held = deltars.read(s, "gold", DECISIONS, ["account_id"]).column("account_id").to_pylist()
    assert sorted(held) == ["acct_0", "acct_2", "acct_4"]
