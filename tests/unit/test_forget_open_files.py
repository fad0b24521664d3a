"""Erasure reaches the files the API is still writing (`.open-*`: today's audit log and spool
files), without a JVM: the account's lines go, and no line an appender writes meanwhile is lost,
because appends and the erasure's rewrite take the file's flock in turn."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ato.online.decide.appender import OPEN, JsonlAppender
from ato.privacy.forget import forget_many
from ato.privacy.forget_files import forget_in_file
from tests.conftest import make_settings

pytestmark = pytest.mark.unit

GONE, KEPT = "acct_0000042", "acct_0000007"
NOW = datetime(2026, 8, 6, 12, tzinfo=UTC)


def _line(account: str, i: int) -> dict[str, str]:
    return {"event_id": f"ev-{account}-{i}", "event_time": "2026-08-06T12:00:00+00:00", "account_id": account}


def _accounts(folder: Path) -> list[tuple[str, str]]:
    """(file kind, account) of every line under `folder`, open files included."""
    return [("open" if p.name.startswith(OPEN) else "closed", json.loads(ln)["account_id"])
            for p in sorted(folder.rglob("*.jsonl")) for ln in p.read_text().splitlines()]


def test_forget_removes_the_account_from_files_still_being_written_and_the_writer_goes_on(tmp_path: Path) -> None:
    s = make_settings(tmp_path, ATO_SPOOL=str(tmp_path / "spool"))
    audit = JsonlAppender(s.serving.audit_dir, "decisions", close_idle_s=3600)
    spool = JsonlAppender(Path(s.paths.spool) / "logins", "api", close_idle_s=3600)
    for i, a in enumerate((GONE, KEPT, GONE)):
        audit.append(_line(a, i), now=NOW)
        spool.append(_line(a, i), now=NOW)
    assert _accounts(Path(s.paths.spool)) == [("open", GONE), ("open", KEPT), ("open", GONE)], "the API's file is open"

    [erasure] = forget_many(s, [GONE])
    assert erasure.files == {"spool": 2, "audit": 2}, "both open files lost the account's lines"
    assert _accounts(Path(s.paths.spool)) == [("open", KEPT)]
    assert _accounts(Path(s.serving.audit_dir)) == [("open", KEPT)]

    audit.append(_line(KEPT, 3), now=NOW)  # the writers go on in the rewritten files, not in the unlinked ones
    spool.append(_line(KEPT, 3), now=NOW)
    audit.close()
    spool.close()
    assert _accounts(Path(s.serving.audit_dir)) == [("closed", KEPT), ("closed", KEPT)]
    assert _accounts(Path(s.paths.spool)) == [("closed", KEPT), ("closed", KEPT)]
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".forget")], "no temporary file left"


def test_no_append_is_lost_while_erasures_rewrite_the_open_file(tmp_path: Path) -> None:
    """A thread appends the kept account's lines while the main thread, 30 times, appends one of the
    erased account's lines and erases it again: whatever the interleaving, the file ends with every
    kept line, in order, and none of the erased account's."""
    writer = JsonlAppender(tmp_path / "audit", "decisions", close_idle_s=3600)
    writer.append(_line(KEPT, 0), now=NOW)
    [path] = (tmp_path / "audit").rglob(f"{OPEN}*.jsonl")
    n = 3000

    def keep_appending() -> None:
        for i in range(1, n):
            writer.append(_line(KEPT, i), now=NOW)

    t = threading.Thread(target=keep_appending)
    t.start()
    removed = 0
    for i in range(30):
        writer.append(_line(GONE, i), now=NOW)
        removed += forget_in_file(path, [GONE]).removed[GONE]
    t.join()
    writer.close()
    assert removed == 30, "each erasure found the line appended just before it"
    [closed] = (tmp_path / "audit").rglob("*.jsonl")
    ids = [json.loads(ln)["event_id"] for ln in closed.read_text().splitlines()]
    assert ids == [f"ev-{KEPT}-{i}" for i in range(n)], "every kept line, once, in order"
