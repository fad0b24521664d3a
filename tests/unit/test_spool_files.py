"""The API's append-only files are written under an in-progress name and renamed when closed:
the nightly ingest's discovery and the decisions step see closed files only, a closed file never
grows again, and a crashed writer's file is closed by the next writer on its host or, once stale,
by its reader."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from ato.ingest.discover import discover
from ato.online.decide.appender import OPEN, JsonlAppender, close_stale

D1, D2 = datetime(2026, 8, 6, 12, tzinfo=UTC), datetime(2026, 8, 7, 0, 0, 1, tzinfo=UTC)


def _login(i: int) -> dict[str, str]:
    return {"event_id": f"ev-{i}", "event_time": "2026-08-06T12:00:00+00:00", "account_id": "acct_0000001",
            "outcome": "success", "ip": "20.0.1.7", "user_agent": "curl/8", "channel": "api"}


def test_a_file_being_written_is_hidden_until_closed_and_never_grows_after(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    a = JsonlAppender(spool / "logins", "api", close_idle_s=3600)
    a.append(_login(1), now=D1)
    a.append(_login(2), now=D1)
    [open_file] = list(spool.rglob("*.jsonl"))
    assert open_file.name.startswith(OPEN) and open_file.parent.name == "2026-08-06"
    assert discover(spool) == [], "ingest takes closed files only"
    a.close()
    [closed] = discover(spool)
    assert Path(closed.path).name == f"api-{a.worker}.jsonl" and len(Path(closed.path).read_text().splitlines()) == 2

    b = JsonlAppender(spool / "logins", "api")  # the same process appends again to that day: a new part
    b.append(_login(3), now=D1)
    b.close()
    files = sorted(Path(f.path).name for f in discover(spool))
    assert files == [f"api-{a.worker}.1.jsonl", f"api-{a.worker}.jsonl"]
    assert Path(closed.path).read_text().count("\n") == 2 and closed.sha256 == discover(spool)[1].sha256


def test_a_day_rolls_over_and_an_idle_past_day_closes_itself(tmp_path: Path) -> None:
    a = JsonlAppender(tmp_path, "decisions", close_idle_s=0)
    a.append({"x": 1}, now=D1)
    a.append({"x": 2}, now=D2)  # the next day: the first file is closed
    names = sorted(p.name for p in tmp_path.rglob("*.jsonl"))
    assert names == [f"{OPEN}decisions-{a.worker}.jsonl", f"decisions-{a.worker}.jsonl"]
    assert not a.close_idle(now=D2), "today's file stays open"
    assert a.close_idle(now=datetime(2026, 8, 8, tzinfo=UTC)), "a past day's idle file closes"
    assert not any(p.name.startswith(OPEN) for p in tmp_path.rglob("*.jsonl"))
    a.close()


def test_a_crashed_writers_file_is_closed_by_the_next_writer_or_by_its_reader(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    pid = int(dead.stdout)  # a process that has exited
    host = JsonlAppender(tmp_path / "x", "decisions").host
    left = tmp_path / "audit" / "2026-08-06" / f"{OPEN}decisions-{host}-{pid}.jsonl"
    left.parent.mkdir(parents=True)
    left.write_text('{"x": 1}\n')
    mine = tmp_path / "audit" / "2026-08-06" / f"{OPEN}decisions-{host}-{os.getpid()}.jsonl"
    mine.write_text('{"x": 2}\n')  # this (live) process's own: not touched
    JsonlAppender(tmp_path / "audit", "decisions").close()
    assert (left.parent / f"decisions-{host}-{pid}.jsonl").read_text() == '{"x": 1}\n' and not left.exists()
    assert mine.exists()

    other = tmp_path / "spool" / "logins" / "2026-08-06" / f"{OPEN}api-otherhost-7.jsonl"
    other.parent.mkdir(parents=True)
    other.write_text("{}\n")
    today = tmp_path / "spool" / "logins" / "2026-08-07" / f"{OPEN}api-otherhost-7.jsonl"
    today.parent.mkdir(parents=True)
    today.write_text("{}\n")
    assert close_stale(tmp_path / "spool", "2026-08-07", idle_s=3600) == [], "written just now: maybe still live"
    assert close_stale(tmp_path / "spool", "2026-08-07", idle_s=0) == [other.with_name("api-otherhost-7.jsonl")]
    assert today.exists(), "today's file is never closed by a reader"
