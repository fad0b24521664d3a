"""`ato forget` from the command line, without a JVM: a batch from a file of ids and --account, one
JSON record per account, and refusals as documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from ato.settings import load_settings
from tests.unit.test_cli import run_json

pytestmark = pytest.mark.unit


def test_forget_erases_a_batch_from_a_file_and_prints_a_record_per_account(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`ato forget --accounts-file F --account ID --json` on a small delta-rs lake and a spool: one
    batch, a record per account (repeats once), each with its own rows; refusals are documents."""
    from datetime import date

    import pyarrow as pa
    from deltalake import write_deltalake

    from ato import deltars
    from tests.conftest import TEST_KEY

    days = [date(2026, 8, 1)] * 2 + [date(2026, 8, 2)] * 2
    write_deltalake(str(tmp_path / "lake" / "silver" / "logins"),
                    pa.table({"account_id": ["a1", "a2", "a3", "a1"], "event_date": days}), partition_by=["event_date"])
    spool = tmp_path / "spool" / "logins" / "2026-08-01.jsonl"
    spool.parent.mkdir(parents=True)
    spool.write_text('{"account_id": "a1"}\n{"account_id": "a3"}\n')
    for name, folder in (("ATO_LAKE_ROOT", "lake"), ("ATO_SPOOL", "spool"), ("ATO_SERVING__AUDIT_DIR", "audit"),
                         ("ATO_ONLINE_DIR", "online")):
        monkeypatch.setenv(name, str(tmp_path / folder))
    monkeypatch.setenv("ATO_HMAC_KEY", TEST_KEY)
    ids = tmp_path / "requests.txt"
    ids.write_text("# today's erasure requests\na1\n\n a2 \n")
    code, doc = run_json(capsys, "forget", "--account", "a1", "--accounts-file", str(ids))
    assert code == 0 and len(doc["erasures"]) == 2
    assert {e["batch"] for e in doc["erasures"]} == {doc["batch"]}
    assert [e["tables"]["silver/logins"] for e in doc["erasures"]] == [2, 1]
    assert [e["files"]["spool"] for e in doc["erasures"]] == [1, 0]
    settings = load_settings()
    assert deltars.read(settings, "silver", "logins")["account_id"].to_pylist() == ["a3"]
    assert spool.read_text() == '{"account_id": "a3"}\n'
    assert '"a1"' not in (tmp_path / "lake" / "_erasure" / "erasures.jsonl").read_text()
    code, doc = run_json(capsys, "forget", "--account", "a3")  # one account: its record, as before batches
    assert code == 0 and doc["tables"]["silver/logins"] == 1 and doc["batch_size"] == 1
    code, doc = run_json(capsys, "forget", "--accounts-file", str(tmp_path / "missing.txt"))
    assert code == 2 and "missing.txt" in doc["error"]
    code, doc = run_json(capsys, "forget", "--account", "a b")
    assert code == 2 and "not an account id" in doc["error"]
    code, doc = run_json(capsys, "forget")
    assert code == 2 and "--accounts-file" in doc["error"]
