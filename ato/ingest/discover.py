"""Find the event files in a spool folder, name their stream and format, and refuse broken ones.

Pure Python, no JVM: everything that can reject a batch before any table is
touched happens here (unknown stream, unsupported format, truncated file). A file whose stat
is unchanged since an earlier scan is not read again (`ato.ingest.hash_memo`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from ato.contracts import CONTRACTS
from ato.ingest.hash_memo import HashMemo, stat_of

EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


class IngestError(ValueError):
    """A batch cannot be ingested as it is; no table was changed."""


class UnknownStreamError(IngestError):
    pass


class TruncatedFileError(IngestError):
    pass


@dataclass(frozen=True)
class SpoolFile:
    """One event file: where it is, which stream and format, and its content hash."""

    path: str
    stream: str
    fmt: str
    sha256: str
    size: int
    known: bool = False  # its stat was unchanged since an earlier scan: hash from the memo, not read


def stream_of(path: Path, spool: Path) -> str:
    """`SPOOL/logins/part-1.jsonl` -> logins; flat `SPOOL/logins-0801.csv` -> logins."""
    rel = path.relative_to(spool)
    if len(rel.parts) > 1:
        name = rel.parts[0]
    else:
        stem = rel.name.split(".", 1)[0]
        name = next((s for s in sorted(CONTRACTS, key=len, reverse=True)
                     if stem == s or stem.startswith(s + "-") or stem.startswith(s + "_")), stem)
    if name not in CONTRACTS:
        raise UnknownStreamError(
            f"{path}: unknown stream {name!r}; a file's folder (or, in a flat spool, its name's "
            f"prefix) must be one of: {', '.join(sorted(CONTRACTS))}"
        )
    return name


def _hidden(rel: Path) -> bool:
    return any(p.startswith((".", "_")) for p in rel.parts)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _last_line(path: Path, size: int) -> bytes:
    with path.open("rb") as f:
        f.seek(max(0, size - 65536))
        return f.read().rsplit(b"\n", 1)[-1]


def check_integrity(path: Path, fmt: str) -> None:
    """Raise TruncatedFileError when the file ends mid-record (or is not valid Parquet)."""
    size = path.stat().st_size
    if fmt == "parquet":
        try:
            pq.read_metadata(path)
        except Exception as e:
            raise TruncatedFileError(f"{path}: not a readable Parquet file (truncated?): {e}") from None
        return
    if size == 0:
        return
    with path.open("rb") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
    last = _last_line(path, size)
    if fmt == "jsonl":
        try:
            json.loads(last)
            return
        except ValueError:
            raise TruncatedFileError(
                f"{path}: the last line is cut off mid-record (no final newline, invalid JSON); "
                "the file looks truncated"
            ) from None
    with path.open("r", newline="", encoding="utf-8", errors="replace") as f:
        header = next(csv.reader(f), [])
    fields = next(csv.reader(io.StringIO(last.decode("utf-8", "replace"))), [])
    if len(fields) < len(header):
        raise TruncatedFileError(
            f"{path}: the last row has {len(fields)} of {len(header)} columns and no final "
            "newline; the file looks truncated"
        )


def local_folder(v: str, name: str) -> str:
    """`v` unchanged when it is a local folder; a clear error for a URI (s3a://, gs://, hdfs://...),
    which would otherwise become a local folder named `s3a:`."""
    if "://" in v:
        raise ValueError(f"{name} must be a local folder, got the URI {v!r}: the API appends to it and the nightly "
                         "ingest reads it on this host. Mount the bucket (s3fs, gcsfuse) and give the mount point, "
                         "or ship the files to a local spool.")
    return v


def _spool_file(path: Path, rel: str, stream: str, fmt: str, memo: HashMemo) -> SpoolFile:
    """`path` checked and hashed, or its memo's hash when its stat is unchanged (it passed the
    check when it was hashed, and the same stat means the same content)."""
    stat = stat_of(path)  # before reading: a change while hashing moves it, so it is read again
    sha = memo.lookup(rel, stat)
    if sha is not None:
        return SpoolFile(str(path.resolve()), stream, fmt, sha, stat[0], known=True)
    check_integrity(path, fmt)
    sha = sha256_of(path)
    memo.remember(rel, stat, sha)
    return SpoolFile(str(path.resolve()), stream, fmt, sha, stat[0])


def discover(spool: Path, settle_s: float = 2.0) -> list[SpoolFile]:
    """Every event file under `spool`, checked. Hidden (`.`/`_`) entries are skipped. Files whose
    stat is unchanged since the last scan are not read (`ato.ingest.hash_memo`, `settle_s`)."""
    if not spool.is_dir():
        raise IngestError(f"{spool}: spool folder does not exist")
    memo = HashMemo(spool, settle_s)
    out = []
    for path in sorted(p for p in spool.rglob("*") if p.is_file()):
        rel = path.relative_to(spool)
        if _hidden(rel):
            continue
        fmt = EXTENSIONS.get(path.suffix.lower())
        if fmt is None:
            raise IngestError(f"{path}: unsupported file type {path.suffix!r}; use {', '.join(EXTENSIONS)}")
        out.append(_spool_file(path, rel.as_posix(), stream_of(path, spool), fmt, memo))
    memo.save()
    return out


def csv_header(path: str) -> tuple[str, ...]:
    """The header row of a CSV file (its column names)."""
    with open(path, newline="", encoding="utf-8") as f:
        return tuple(next(csv.reader(f), []))


def parquet_columns(path: str) -> tuple[str, ...]:
    return tuple(pq.read_schema(path).names)
