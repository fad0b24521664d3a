"""Erasure in files (`ato forget`): spool and audit files lose every line that names the account,
published snapshots lose its rows. Each file is rewritten next to itself and renamed over it, so
a crash leaves either the old or the new file, never half of one; re-running finds nothing."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ato.ingest.discover import sha256_of as sha256

if TYPE_CHECKING:
    import pyarrow as pa

ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
TOKEN = "[A-Za-z0-9_.:@-]"  # characters an id is made of: a match must not continue into them


def check_account(account: str) -> str:
    if not ID.match(account):
        raise ValueError(f"not an account id: {account!r} (1-128 of letters, digits and _ . : @ -)")
    return account


def token_regex(account: str) -> str:
    """The account id as a whole token in free text (JSON, CSV, a malformed record), for Python
    and for the Rust regex engine of delta-rs (no look-behind there)."""
    return f"(^|[^{TOKEN[1:-1]}]){re.escape(account)}([^{TOKEN[1:-1]}]|$)"


def _replace(path: Path, data: bytes | pa.Table, **parquet: Any) -> None:
    """Write `data` (bytes, or a table as Parquet) next to `path`, then rename it over `path`."""
    tmp = path.with_name(f".{path.name}.forget")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        import pyarrow.parquet as pq

        pq.write_table(data, tmp, **parquet)
    os.replace(tmp, path)


def drop_lines(path: Path, data: bytes, account: str) -> int:
    """Rewrite a text file (JSON lines, CSV: its header kept) whose content is `data` without the
    lines naming `account`; the lines removed."""
    if account.encode() not in data:
        return 0
    pattern = re.compile(token_regex(account).encode())
    lines = data.splitlines(keepends=True)
    head = lines[:1] if path.suffix == ".csv" else []
    body = lines[len(head):]
    keep = [x for x in body if not pattern.search(x)]
    if len(keep) != len(body):
        _replace(path, b"".join(head + keep))
    return len(body) - len(keep)


def drop_rows(path: Path, data: bytes, account: str) -> int:
    """Rewrite a Parquet spool file whose content is `data` without the rows whose `account_id`
    is the account."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(data))
    if "account_id" not in table.column_names:
        return 0
    kept = _without(table, "account_id", account)
    if kept.num_rows != table.num_rows:
        _replace(path, kept)
    return table.num_rows - kept.num_rows


@dataclass(frozen=True)
class Rewrite:
    """What `forget_in_file` did to one file."""

    removed: int  # lines (text) or rows (Parquet) naming the account
    before: str | None  # the SHA-256 of the content it replaced; None when the file was left as it was


def forget_in_file(path: Path, account: str) -> Rewrite:
    """Lines (text) or rows (Parquet) naming the account removed from one spool or audit file. The
    file is read once; only a file it rewrites is hashed (the ingest ledger knows spool files by
    the hash of their content)."""
    data = path.read_bytes()
    n = drop_rows(path, data, account) if path.suffix == ".parquet" else drop_lines(path, data, account)
    return Rewrite(n, hashlib.sha256(data).hexdigest() if n else None)


def data_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".json", ".csv", ".parquet")
                  and not p.name.startswith("."))


def _without(table: pa.Table, column: str, account: str) -> pa.Table:
    import pyarrow.compute as pc

    return table.filter(pc.invert(pc.fill_null(pc.equal(table[column], account), False)))


def forget_in_snapshot(folder: Path, account: str) -> int:
    """One published snapshot (`ato.online.snapshot.files`): its account-keyed files rewritten
    without the account's row, then the manifest (row counts, SHA-256) written to match."""
    import pyarrow.parquet as pq

    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return 0
    manifest = json.loads(manifest_path.read_text())
    removed = 0
    for kind, entry in manifest["files"].items():
        if entry.get("key") != "account_id":
            continue
        path = folder / entry["file"]
        table = pq.read_table(path)
        kept = _without(table, "account_id", account)
        if kept.num_rows == table.num_rows:
            continue
        _replace(path, kept, compression="zstd")
        removed += table.num_rows - kept.num_rows
        manifest["rows"][kind] = kept.num_rows
        entry["sha256"] = sha256(path)
    if removed:
        _replace(manifest_path, json.dumps(manifest, indent=2).encode())
    return removed
