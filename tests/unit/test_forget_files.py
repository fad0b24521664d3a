"""Erasure in spool files, without a JVM: each format loses exactly the account's records, the
file is read once, and only a rewritten file reports the hash of the content it replaced (what the
ingest ledger knows it by)."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ato.ingest.discover import sha256_of
from ato.privacy.forget_files import forget_in_file
from tests.builders import make_login, write_csv, write_jsonl

pytestmark = pytest.mark.unit

GONE, KEPT, LONGER = "acct_0000042", "acct_0000007", "acct_00000421"  # LONGER contains GONE


def logins() -> list[dict[str, object]]:
    return [make_login(account_id=a) for a in (GONE, KEPT, LONGER, GONE)]


def spool_files(tmp_path: Path) -> list[Path]:
    rows = logins()
    parquet = tmp_path / "logins-3.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    return [write_jsonl(tmp_path / "logins-1.jsonl", rows), write_csv(tmp_path / "logins-2.csv", rows), parquet]


def accounts_in(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return pq.read_table(path)["account_id"].to_pylist()
    text = path.read_text()
    return [a for line in text.splitlines() for a in (KEPT, LONGER, GONE) if f'{a}"' in line or f"{a}," in line]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["jsonl", "csv", "parquet"])
def test_a_file_naming_the_account_loses_its_records_and_reports_the_hash_it_replaced(tmp_path: Path,
                                                                                      index: int) -> None:
    path = spool_files(tmp_path)[index]
    before = sha256_of(path)
    rewrite = forget_in_file(path, GONE)
    assert rewrite.removed == 2 and rewrite.before == before
    assert sorted(accounts_in(path)) == sorted([KEPT, LONGER]), "only the account's records went"
    assert sha256_of(path) != before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left"
    again = forget_in_file(path, GONE)
    assert (again.removed, again.before) == (0, None), "re-running finds nothing"


@pytest.mark.parametrize("index", [0, 1, 2], ids=["jsonl", "csv", "parquet"])
def test_a_file_without_the_account_is_left_as_it_was_and_not_hashed(tmp_path: Path, index: int) -> None:
    path = spool_files(tmp_path)[index]
    stat, content = os.stat(path), path.read_bytes()
    rewrite = forget_in_file(path, "acct_9999999")
    assert (rewrite.removed, rewrite.before) == (0, None)
    after = os.stat(path)
    assert path.read_bytes() == content and (after.st_mtime_ns, after.st_ino) == (stat.st_mtime_ns, stat.st_ino)
