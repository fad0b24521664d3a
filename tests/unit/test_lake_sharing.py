"""Sharing the lake safely: a second `ato nightly` (a real process) refuses naming the holder, or
waits for the lock and then runs; two started together leave the lake consistent; a dead
process's lock is taken over; nesting in one process is free; the monitoring tables and the batch
tables are locked apart, so the DAG's two branches write side by side."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ato.decisions import held
from ato.lake_lock import BATCH, LOCK, LOCKS, MONITORING, LakeBusy, holder, writer_lock
from ato.nightly import lock_domains
from tests.builders import write_audit
from tests.conftest import TEST_KEY, make_settings

DAY = "2026-09-14"


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ATO_LAKE_ROOT": str(tmp_path / "lake"), "ATO_SERVING__AUDIT_DIR": str(tmp_path / "audit"),
            "ATO_HMAC_KEY": TEST_KEY}


def _nightly(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "ato.cli", "nightly", "--date", DAY, "--steps", "decisions",
                             "--json", *extra], env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_a_second_writer_refuses_naming_the_holder(tmp_path: Path) -> None:
    write_audit(tmp_path / "audit", DAY, "host-a", 3)
    with writer_lock(str(tmp_path / "lake"), "ato nightly 2026-09-14 (this test)"):
        out, _ = _nightly(tmp_path).communicate(timeout=120)
    doc = json.loads(out.strip().splitlines()[-1])
    assert doc["ok"] is False and "ato nightly 2026-09-14 (this test)" in doc["error"] and "--lock-wait" in doc["error"]
    assert f"pid {os.getpid()}" in doc["error"] and "nothing written" in doc["error"]
    assert not (tmp_path / "lake" / LOCK).exists(), "released"
    s = make_settings(tmp_path, ATO_SERVING__AUDIT_DIR=str(tmp_path / "audit"))
    assert held(s, date.fromisoformat(DAY)) == 0, "the refused run wrote nothing"


def test_a_waiting_writer_runs_once_the_lock_is_released(tmp_path: Path) -> None:
    write_audit(tmp_path / "audit", DAY, "host-a", 3)
    with writer_lock(str(tmp_path / "lake"), "holder"):
        p = _nightly(tmp_path, "--lock-wait", "300")
        assert p.stderr is not None
        for line in p.stderr:  # released only once the second run says it waits: no timing involved
            if "waiting for the lake's writer lock" in line:
                break
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 0 and json.loads(out.strip().splitlines()[-1])["decisions"] == {DAY: 3}


def test_two_runs_started_together_one_refuses_clearly_or_both_run_in_turn(tmp_path: Path) -> None:

    write_audit(tmp_path / "audit", DAY, "host-a", 5)
    runs = [_nightly(tmp_path), _nightly(tmp_path)]
    docs = [json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in runs]
    failed = [d for d in docs if not d["ok"]]
    assert len(failed) <= 1 and all("one writer at a time" in d["error"] for d in failed)
    s = make_settings(tmp_path, ATO_SERVING__AUDIT_DIR=str(tmp_path / "audit"))
    assert held(s, date.fromisoformat(DAY)) == 5, "the lake ends consistent: the day once, whole"
    assert holder(str(tmp_path / "lake")) is None


def test_a_dead_process_lock_is_taken_over_and_nesting_is_free(tmp_path: Path) -> None:
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)
    lake = tmp_path / "lake"
    (lake / LOCK).parent.mkdir(parents=True)
    (lake / LOCK).write_text(json.dumps({"owner": "x", "host": socket.gethostname(), "pid": dead, "what": "crashed",
                                         "since": "2026-09-14T01:00:00+00:00"}))
    with writer_lock(str(lake), "me"):
        assert holder(str(lake))["what"] == "me"  # type: ignore[index]
        with writer_lock(str(lake), "a step of mine"):
            assert holder(str(lake))["what"] == "me"  # type: ignore[index]
        assert (lake / LOCK).exists(), "the outer block still holds it"
    assert not (lake / LOCK).exists()
    (lake / LOCK).write_text(json.dumps({"owner": "y@elsewhere", "host": "elsewhere", "pid": dead, "what": "far",
                                         "since": "2026-09-14T01:00:00+00:00"}))
    with pytest.raises(LakeBusy, match=r"far` of y@elsewhere .* remove"), writer_lock(str(lake), "me"):
        pass
    assert holder(str(lake))["host"] == "elsewhere", "another host's lock is never broken automatically"  # type: ignore[index]
    (lake / LOCK).write_text("")  # a writer that died between creating the file and writing it
    with pytest.raises(LakeBusy, match=r"unknown \(the lock file is empty or unreadable\).* remove"), \
            writer_lock(str(lake), "me", wait_s=0.2, poll_s=0.05):
        pass


TAKE_ALL = """
import sys
from ato.lake_lock import LakeBusy, writer_lock
try:
    with writer_lock(sys.argv[1], "ato forget", wait_s=0.2, poll_s=0.05):
        pass
except LakeBusy as e:
    sys.exit(str(e))
"""


def test_the_monitoring_and_batch_tables_are_locked_apart(tmp_path: Path) -> None:
    assert lock_domains(("decisions",)) == lock_domains(("monitor",)) == (MONITORING,)
    assert lock_domains(("rings",)) == lock_domains(("aggregates", "report")) == (BATCH,)
    assert lock_domains(("decisions", "monitor", "report", "retention")) == lock_domains(("ingest", "monitor")) \
        == (BATCH, MONITORING)
    assert lock_domains(("report",)) == (), "the report writes no table"
    write_audit(tmp_path / "audit", DAY, "host-a", 3)
    lake = str(tmp_path / "lake")
    with writer_lock(lake, "the aggregates (this test)", domains=(BATCH,)):
        out, err = _nightly(tmp_path).communicate(timeout=120)  # the decisions step: monitoring tables
        assert json.loads(out.strip().splitlines()[-1])["decisions"] == {DAY: 3}, err[-2000:]
        assert "waiting" not in err, "it did not wait for the batch tables' writer"
    with writer_lock(lake, "the monitor (this test)", domains=(MONITORING,)):
        # a writer of every table (another process: nesting in this one is free) takes the batch
        # tables' lock, then refuses on the monitoring one, letting go of both
        run = subprocess.run([sys.executable, "-c", TAKE_ALL, lake], capture_output=True, text=True, timeout=120)
        assert run.returncode == 1 and "(monitoring tables) is being written by `the monitor (this test)`" in run.stderr
        assert holder(lake, BATCH) is None and holder(lake, MONITORING)["what"] == "the monitor (this test)"  # type: ignore[index]
    assert not any((Path(lake) / f).exists() for f in LOCKS.values())


def test_an_object_store_spool_is_refused_not_turned_into_a_local_folder(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from ato.cli import main
    from ato.online.decide.appender import JsonlAppender

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATO_HMAC_KEY", TEST_KEY)
    with pytest.raises(ValueError, match=r"the api folder must be a local folder, got the URI 's3a://b/spool/logins'"):
        JsonlAppender("s3a://b/spool/logins", "api")
    assert main(["ingest", "gs://bucket/spool"]) == 2
    monkeypatch.setenv("ATO_SPOOL", "s3a://bucket/spool")
    assert main(["ingest"]) == 2
    assert not any(tmp_path.iterdir()), "no local folder named s3a: or gs: (nor anything else) was made"


def test_a_retried_write_commits_once(tmp_path: Path) -> None:
    from ato import deltars
    from ato.gates import Check, log_checks

    s = make_settings(tmp_path)
    checks = [Check("2026-09-14", "input", "logins_rows", True, 10.0, "[1, inf)")]
    log_checks(s, "2026-09-14", checks, txn=("nightly_checks run-1", 1))
    v = deltars.version(s, "gold", "nightly_checks")
    log_checks(s, "2026-09-14", checks, txn=("nightly_checks run-1", 1))  # the task retried: same run, same step
    assert deltars.version(s, "gold", "nightly_checks") == v and deltars.read(s, "gold", "nightly_checks").num_rows == 1
    log_checks(s, "2026-09-14", checks, txn=("nightly_checks run-1", 2))  # the run's next step
    log_checks(s, "2026-09-14", checks, txn=("nightly_checks run-2", 1))  # another run
    assert deltars.read(s, "gold", "nightly_checks").num_rows == 3
    assert not deltars.write(s, "gold", "nightly_checks", deltars.read(s, "gold", "nightly_checks"),
                             txn=("nightly_checks run-2", 1)), "skipped, and says so"
