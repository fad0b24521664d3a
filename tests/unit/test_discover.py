from pathlib import Path

import pytest

from ato.ingest.discover import (
    IngestError,
    TruncatedFileError,
    UnknownStreamError,
    discover,
    stream_of,
)
from tests.builders import make_login, write_csv, write_jsonl

pytestmark = pytest.mark.unit


def test_stream_from_folder_or_flat_prefix(tmp_path: Path) -> None:
    assert stream_of(tmp_path / "logins" / "part-1.jsonl", tmp_path) == "logins"
    assert stream_of(tmp_path / "logins-0801.csv", tmp_path) == "logins"
    assert stream_of(tmp_path / "account_changes-1.jsonl", tmp_path) == "account_changes"
    assert stream_of(tmp_path / "ip_reputation.csv", tmp_path) == "ip_reputation"


def test_unknown_stream_names_the_file(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "clicks" / "a.jsonl", [make_login()])
    with pytest.raises(UnknownStreamError, match=r"clicks.*unknown stream 'clicks'"):
        discover(tmp_path)


def test_unsupported_extension(tmp_path: Path) -> None:
    (tmp_path / "logins").mkdir()
    (tmp_path / "logins" / "a.xml").write_text("<x/>")
    with pytest.raises(IngestError, match="unsupported file type"):
        discover(tmp_path)


def test_hidden_entries_are_skipped(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "_tmp" / "a.jsonl", [make_login()])
    write_jsonl(tmp_path / "logins" / ".partial.jsonl", [make_login()])
    write_jsonl(tmp_path / "logins" / "ok.jsonl", [make_login()])
    assert [Path(f.path).name for f in discover(tmp_path)] == ["ok.jsonl"]


def test_truncated_jsonl(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "logins" / "a.jsonl", [make_login(), make_login()])
    p.write_bytes(p.read_bytes()[:-40])
    with pytest.raises(TruncatedFileError, match="truncated"):
        discover(tmp_path)


def test_jsonl_without_final_newline_is_fine(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "logins" / "a.jsonl", [make_login()])
    p.write_bytes(p.read_bytes().rstrip(b"\n"))
    assert len(discover(tmp_path)) == 1


def test_truncated_csv(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "logins-1.csv", [make_login(), make_login()])
    p.write_bytes(p.read_bytes()[:-60])
    with pytest.raises(TruncatedFileError, match="columns"):
        discover(tmp_path)


def test_truncated_parquet(tmp_path: Path) -> None:
    import pandas as pd

    p = tmp_path / "sessions" / "a.parquet"
    p.parent.mkdir()
    pd.DataFrame({"session_id": ["s"], "account_id": ["a"]}).to_parquet(p)
    p.write_bytes(p.read_bytes()[:-20])
    with pytest.raises(TruncatedFileError, match="Parquet"):
        discover(tmp_path)


def test_same_content_same_hash(tmp_path: Path) -> None:
    rows = [make_login(event_id="x")]
    write_jsonl(tmp_path / "logins" / "a.jsonl", rows)
    write_jsonl(tmp_path / "logins" / "b.jsonl", rows)
    a, b = discover(tmp_path)
    assert a.sha256 == b.sha256
