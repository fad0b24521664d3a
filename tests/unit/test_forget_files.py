"""Erasure in spool files, without a JVM: each format loses exactly the accounts' records, counted
per account, the file is read once for a whole batch, and only a rewritten file reports the hash
of the content it replaced (what the ingest ledger knows it by)."""

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


def spool_files(tmp_path: Path, rows: list[dict[str, object]] | None = None) -> list[Path]:
    rows = rows or logins()
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
    rewrite = forget_in_file(path, [GONE])
    assert rewrite.removed == {GONE: 2} and rewrite.before == before
    assert sorted(accounts_in(path)) == sorted([KEPT, LONGER]), "only the account's records went"
    assert sha256_of(path) != before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left"
    again = forget_in_file(path, [GONE])
    assert (again.removed, again.before) == ({}, None), "re-running finds nothing"


@pytest.mark.parametrize("index", [0, 1, 2], ids=["jsonl", "csv", "parquet"])
def test_a_file_without_the_account_is_left_as_it_was_and_not_hashed(tmp_path: Path, index: int) -> None:
    path = spool_files(tmp_path)[index]
    stat, content = os.stat(path), path.read_bytes()
    rewrite = forget_in_file(path, ["acct_9999999"])
    assert (rewrite.removed, rewrite.before) == ({}, None)
    after = os.stat(path)
    assert path.read_bytes() == content and (after.st_mtime_ns, after.st_ino) == (stat.st_mtime_ns, stat.st_ino)


@pytest.mark.parametrize("index", [0, 1, 2], ids=["jsonl", "csv", "parquet"])
@pytest.mark.parametrize("size", [2, 40], ids=["small-batch", "large-batch"])  # either side of SUBSTRING_CHECK_MAX
def test_a_batch_leaves_the_file_erasing_its_accounts_one_at_a_time_would(tmp_path: Path, index: int,
                                                                          size: int) -> None:
    """Both accounts' records go in one rewrite, counted per account; the file ends byte for byte as
    two single erasures leave it; ids absent from the file count nothing."""
    rows = logins()
    for d in ("batch", "single"):
        (tmp_path / d).mkdir()
    batch, single = (spool_files(tmp_path / d, rows)[index] for d in ("batch", "single"))
    absent = [f"acct_{9_000_000 + i}" for i in range(size - 2)]
    rewrite = forget_in_file(batch, [GONE, LONGER, *absent])
    assert rewrite.removed == {GONE: 2, LONGER: 1}
    assert accounts_in(batch) == [KEPT]
    for account in (GONE, LONGER):
        forget_in_file(single, [account])
    assert batch.read_bytes() == single.read_bytes()


def test_a_line_naming_two_of_the_accounts_goes_once_and_counts_for_both(tmp_path: Path) -> None:
    path = tmp_path / "quarantine-like.jsonl"
    path.write_text(f'{{"raw": "{GONE} paid {LONGER}"}}\n{{"raw": "{KEPT}"}}\n{{"raw": "{LONGER}x"}}\n')
    rewrite = forget_in_file(path, [GONE, LONGER])
    assert rewrite.removed == {GONE: 1, LONGER: 1}
    assert path.read_text() == f'{{"raw": "{KEPT}"}}\n{{"raw": "{LONGER}x"}}\n', "an id inside a longer token stays"
