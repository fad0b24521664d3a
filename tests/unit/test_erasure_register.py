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
