"""Erasure in files (`ato forget`): spool and audit files lose every line that names one of the
accounts, published snapshots lose their rows. Each file is read once for the whole batch of
accounts, rewritten next to itself and renamed over it, so a crash leaves either the old or the
new file, never half of one; re-running finds nothing. Counts are per account: a line naming two
of the batch's accounts is removed once and counted for both. The files the API is still writing
(`.open-*`) are rewritten so too, under an exclusive flock that its appends wait for
(`ato.online.decide.appender`)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ato.ingest.discover import sha256_of as sha256
from ato.online.decide.appender import OPEN, closed_name, lock_current

if TYPE_CHECKING:
    import pyarrow as pa

ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
TOKEN_CHARS = "A-Za-z0-9_.:@-"  # what an id is made of: an id in text is a whole run of them
TOKENS = re.compile(f"[{TOKEN_CHARS}]+".encode())
SEPARATORS = f"[^{TOKEN_CHARS}]+"  # splits text into those runs (Arrow's RE2 syntax too)
SUBSTRING_CHECK_MAX = 32  # up to this many accounts, a file is first searched for each id as bytes


def check_account(account: str) -> str:
    if not ID.match(account):
        raise ValueError(f"not an account id: {account!r} (1-128 of letters, digits and _ . : @ -)")
    return account


def named_in(text: bytes, accounts: Collection[bytes]) -> set[bytes]:
    """The accounts `text` names as whole tokens (an id inside a longer id does not count)."""
    return set(TOKENS.findall(text)).intersection(accounts)


def _replace(path: Path, data: bytes | pa.Table, **parquet: Any) -> None:
    """Write `data` (bytes, or a table as Parquet) next to `path`, then rename it over `path`."""
    tmp = path.with_name(f".{path.name}.forget")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        import pyarrow.parquet as pq

        pq.write_table(data, tmp, **parquet)
    os.replace(tmp, path)


def drop_lines(path: Path, data: bytes, accounts: Collection[str]) -> Counter[str]:
    """Rewrite a text file (JSON lines, CSV: its header kept) whose content is `data` without the
    lines naming any of `accounts`; the lines removed per account."""
    wanted = {a.encode() for a in accounts}
    if len(wanted) <= SUBSTRING_CHECK_MAX and not any(a in data for a in wanted):
        return Counter()  # the common case, at memchr speed
    lines = data.splitlines(keepends=True)
    head = lines[:1] if path.suffix == ".csv" else []
    keep, removed = list(head), Counter[str]()
    for line in lines[len(head):]:
        if hits := named_in(line, wanted):
            removed.update(h.decode() for h in hits)
        else:
            keep.append(line)
    if removed:
        _replace(path, b"".join(keep))
    return removed


def drop_rows(path: Path, data: bytes, accounts: Collection[str]) -> Counter[str]:
    """Rewrite a Parquet spool file whose content is `data` without the rows whose `account_id`
    is one of `accounts`; the rows removed per account."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(data))
    if "account_id" not in table.column_names:
        return Counter()
    kept, removed = without(table, "account_id", accounts)
    if removed:
        _replace(path, kept)
    return removed


@dataclass(frozen=True)
class Rewrite:
    """What `forget_in_file` did to one file."""

    removed: Counter[str] = field(default_factory=Counter)  # per account: lines (text) or rows (Parquet) naming it
    before: str | None = None  # the SHA-256 of the content it replaced; None when the file was left as it was


def forget_in_file(path: Path, accounts: Collection[str]) -> Rewrite:
    """Lines (text) or rows (Parquet) naming any of `accounts` removed from one spool or audit
    file. The file is read once; only a file it rewrites is hashed (the ingest ledger knows spool
    files by the hash of their content)."""
    if path.name.startswith(OPEN):
        return _forget_in_open_file(path, accounts)
    data = path.read_bytes()
    n = drop_rows(path, data, accounts) if path.suffix == ".parquet" else drop_lines(path, data, accounts)
    return Rewrite(n, hashlib.sha256(data).hexdigest() if n else None)


def _forget_in_open_file(path: Path, accounts: Collection[str]) -> Rewrite:
    """The same for a file the API may still be appending to (`.open-*`, `ato.online.decide.appender`):
    read and replaced under an exclusive flock, so no append lands between the read and the rename
    (appends wait for it, then write to the new file); the name the file has by then is the one
    replaced (its writer may have closed it since it was listed)."""
    wanted = [a.encode() for a in accounts]
    try:
        peek = path.read_bytes()  # most open files name none of the accounts: no lock for them
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # closed since it was listed
        closed = closed_name(path)
        return forget_in_file(closed, accounts) if closed.exists() else Rewrite()
    if len(wanted) <= SUBSTRING_CHECK_MAX and not any(a in peek for a in wanted):
        os.close(fd)
        return Rewrite()
    fd = lock_current(path, fd, fcntl.LOCK_EX)
    try:
        ino = os.fstat(fd).st_ino
        name = path if path.exists() and path.stat().st_ino == ino else closed_name(path)
        data = name.read_bytes()
        n = drop_lines(name, data, accounts)
    finally:
        os.close(fd)  # and its lock: the appends waiting for it go to the new file
    return Rewrite(n, hashlib.sha256(data).hexdigest() if n else None)


def data_files(root: Path) -> list[Path]:
    """The data files under `root`, the API's files still being written (`.open-*.jsonl`) among them."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".json", ".csv", ".parquet")
                  and (not p.name.startswith(".") or p.name.startswith(OPEN)))


def per_account(values: pa.Array | pa.ChunkedArray) -> Counter[str]:
    """How often each value occurs (nulls left out)."""
    import pyarrow.compute as pc

    counts = pc.value_counts(pc.drop_null(values)).to_pylist()
    return Counter({str(c["values"]): int(c["counts"]) for c in counts})


def without(table: pa.Table, column: str, accounts: Collection[str]) -> tuple[pa.Table, Counter[str]]:
    """`table` without the rows whose `column` is one of `accounts`, and the rows removed per account."""
    import pyarrow as pa
    import pyarrow.compute as pc

    hit = pc.fill_null(pc.is_in(table[column], value_set=pa.array(sorted(accounts), pa.string())), False)
    return table.filter(pc.invert(hit)), per_account(table[column].filter(hit))


def forget_in_snapshot(folder: Path, accounts: Collection[str]) -> Counter[str]:
    """One published snapshot (`ato.online.snapshot.files`): its account-keyed files rewritten
    without the accounts' rows, then the manifest (row counts, SHA-256) written to match; the rows
    removed per account."""
    import pyarrow.parquet as pq

    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return Counter()
    manifest = json.loads(manifest_path.read_text())
    removed = Counter[str]()
    for kind, entry in manifest["files"].items():
        if entry.get("key") != "account_id":
            continue
        path = folder / entry["file"]
        table = pq.read_table(path)
        kept, gone = without(table, "account_id", accounts)
        if not gone:
            continue
        _replace(path, kept, compression="zstd")
        removed += gone
        manifest["rows"][kind] = kept.num_rows
        entry["sha256"] = sha256(path)
    if removed:
        _replace(manifest_path, json.dumps(manifest, indent=2).encode())
    return removed
