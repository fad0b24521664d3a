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

from ato.online.decide.appender import OPEN, closed_name

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


def _tmp(path: Path) -> Path:
    """Where a rewrite of `path` is written before it replaces it (hidden: `data_files` skips it)."""
    return path.with_name(f".{path.name}.forget")


def _replace(path: Path, data: bytes | pa.Table, **parquet: Any) -> str:
    """Write `data` (bytes, or a table as Parquet) next to `path`, then rename it over `path`; the
    SHA-256 of what it wrote (a manifest records it: no second read)."""
    if not isinstance(data, bytes):
        import pyarrow as pa
        import pyarrow.parquet as pq

        out = pa.BufferOutputStream()
        pq.write_table(data, out, **parquet)
        data = out.getvalue().to_pybytes()
    tmp = _tmp(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def without_lines(data: bytes, wanted: set[bytes], header: bool = False) -> tuple[bytes, Counter[str]]:
    """`data` without its lines naming any of `wanted` (the first line kept when it is a header),
    and the lines removed per account."""
    lines = data.splitlines(keepends=True)
    head = lines[:1] if header else []
    keep, removed = list(head), Counter[str]()
    for line in lines[len(head):]:
        if hits := named_in(line, wanted):
            removed.update(h.decode() for h in hits)
        else:
            keep.append(line)
    return b"".join(keep), removed


def _names_none(data: bytes, wanted: set[bytes]) -> bool:
    """True when `data` surely names none of `wanted`: the common case, at memchr speed (a few ids)."""
    return len(wanted) <= SUBSTRING_CHECK_MAX and not any(a in data for a in wanted)


def drop_lines(path: Path, data: bytes, accounts: Collection[str]) -> Counter[str]:
    """Rewrite a text file (JSON lines, CSV: its header kept) whose content is `data` without the
    lines naming any of `accounts`; the lines removed per account."""
    wanted = {a.encode() for a in accounts}
    if _names_none(data, wanted):
        return Counter()
    kept, removed = without_lines(data, wanted, header=path.suffix == ".csv")
    if removed:
        _replace(path, kept)
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


def _read_from(fd: int, offset: int) -> bytes:
    chunks = []
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _forget_in_open_file(path: Path, accounts: Collection[str]) -> Rewrite:
    """The same for a file the API may still be appending to (`.open-*`, `ato.online.decide.appender`).
    Its whole lines are filtered into a new file without a lock; then, under an exclusive flock
    (appends wait for it), the lines appended since are filtered too and the new file is renamed
    over the name the file has by then (its writer may have closed it meanwhile). So the appends wait
    only for the tail, and none lands between the last read and the rename."""
    wanted = {a.encode() for a in accounts}
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # closed since it was listed
        closed = closed_name(path)
        return forget_in_file(closed, accounts) if closed.exists() else Rewrite()
    try:
        data = _read_from(fd, 0)
        head = data if data.endswith(b"\n") else data[:data.rfind(b"\n") + 1]  # whole lines: an append may be under way
        if _names_none(head, wanted):
            return Rewrite()
        kept, removed = without_lines(head, wanted)
        if not removed:
            return Rewrite()
        tmp = _tmp(path)
        with tmp.open("wb") as out:
            out.write(kept)
            out.flush()
            os.fsync(out.fileno())  # the bulk on disk before the lock, not under it
            del kept  # and its memory freed before the lock too (a few ms for tens of MB)
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by closing fd; appends hold LOCK_SH per write
            tail = _read_from(fd, len(head))
            rest, more = tail, Counter[str]()
            if not _names_none(tail, wanted):  # usually it names none: copied as it is
                rest, more = without_lines(tail, wanted)
            out.write(rest)
        ino = os.fstat(fd).st_ino
        os.replace(tmp, path if path.exists() and path.stat().st_ino == ino else closed_name(path))
    finally:
        os.close(fd)  # and its lock: the appends waiting for it find the file replaced and follow it
    before = hashlib.sha256(head)
    before.update(tail)
    return Rewrite(removed + more, before.hexdigest())


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
        entry["sha256"] = _replace(path, kept, compression="zstd")
        removed += gone
        manifest["rows"][kind] = kept.num_rows
    if removed:
        _replace(manifest_path, json.dumps(manifest, indent=2).encode())
    return removed
