"""The spool's hash memo: a scan does not read a file whose stat is unchanged since the last scan,
and reads again every file that changed, even one whose size and mtime were put back."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ato.ingest.discover import discover, sha256_of
from ato.ingest.hash_memo import MEMO, stat_of
from tests.builders import make_login, make_payment, write_csv, write_jsonl

pytestmark = pytest.mark.unit


def spool(tmp_path: Path) -> Path:
    root = tmp_path / "spool"
    write_jsonl(root / "logins" / "2026-08-01.jsonl", [make_login() for _ in range(4)])
    write_csv(root / "payments-2026-08-01.csv", [make_payment(), make_payment()])
    return root


def memo_doc(root: Path) -> dict[str, list[object]]:
    doc = json.loads((root / MEMO).read_text())
    assert doc["version"] == 1
    return dict(doc["files"])


def test_an_unchanged_file_is_not_read_again_and_its_memo_is_trusted(tmp_path: Path) -> None:
    root = spool(tmp_path)
    first = discover(root, settle_s=0)
    assert [f.known for f in first] == [False, False], "a first scan reads every file"
    assert all(f.sha256 == sha256_of(Path(f.path)) for f in first)
    assert sorted(memo_doc(root)) == ["logins/2026-08-01.jsonl", "payments-2026-08-01.csv"]
    again = discover(root, settle_s=0)
    assert again == [replace(f, known=True) for f in first], "same files, hashes from the memo"
    # The hash really comes from the memo, not from reading: a memo entry changed by hand is
    # what the scan returns while the file's stat still matches.
    doc = json.loads((root / MEMO).read_text())
    doc["files"]["logins/2026-08-01.jsonl"][3] = "f" * 64
    (root / MEMO).write_text(json.dumps(doc))
    assert discover(root, settle_s=0)[0].sha256 == "f" * 64
    assert (root / MEMO).is_file() and MEMO not in {Path(f.path).name for f in again}, "the memo is no event file"


def test_a_file_rewritten_with_its_size_and_mtime_put_back_is_read_again(tmp_path: Path) -> None:
    root = spool(tmp_path)
    [logins, _] = discover(root, settle_s=0)
    path = Path(logins.path)
    before = os.stat(path)
    lines = path.read_text().splitlines(keepends=True)
    time.sleep(0.05)  # past the clock tick of the first write, so the rewrite's ctime is a later one
    path.write_text("".join(reversed(lines)))  # same bytes in another order: same size, other content
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `rsync -t` or `touch -d` would
    now = stat_of(path)
    assert now[:2] == (before.st_size, before.st_mtime_ns) and now[2] != before.st_ctime_ns
    [again, payments] = discover(root, settle_s=0)
    assert not again.known and again.sha256 == sha256_of(path) != logins.sha256, "the new content's hash"
    assert payments.known, "the untouched file is still not read"
    assert memo_doc(root)["logins/2026-08-01.jsonl"] == [*now, again.sha256]


def test_a_file_changed_just_before_a_scan_is_not_remembered(tmp_path: Path) -> None:
    root = spool(tmp_path)
    discover(root, settle_s=3600)  # every file changed within the last hour: none settled
    assert memo_doc(root) == {}
    assert [f.known for f in discover(root, settle_s=3600)] == [False, False]


def test_a_removed_file_leaves_the_memo_and_a_broken_memo_is_rebuilt(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    root = spool(tmp_path)
    discover(root, settle_s=0)
    (root / "payments-2026-08-01.csv").unlink()
    assert [Path(f.path).name for f in discover(root, settle_s=0)] == ["2026-08-01.jsonl"]
    assert sorted(memo_doc(root)) == ["logins/2026-08-01.jsonl"]
    (root / MEMO).write_text('{"version": 1, "files": {"logins/2026-08-01.jsonl": [1, 2')  # cut off
    with caplog.at_level(logging.WARNING, logger="ato.ingest.hash_memo"):
        [f] = discover(root, settle_s=0)
    assert not f.known and "every spool file is read again" in caplog.text
    assert sorted(memo_doc(root)) == ["logins/2026-08-01.jsonl"], "rewritten whole"
    assert [p.name for p in root.iterdir() if p.name.startswith(MEMO)] == [MEMO], "no temporary file left"
