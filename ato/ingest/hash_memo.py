"""What each spool file hashed to, kept while its stat is unchanged, so the nightly ingest does not
read the whole spool again every night.

The spool keeps about 30 days of files and the ingest ledger knows files by content (SHA-256), so
finding the new ones used to mean hashing every file, every night: at 10 M logins a night that is
some 150 GB read and hashed to find one day's 5 GB. The memo, `SPOOL/.ato-spool-hashes.json`
(hidden, so never ingested, forgotten or expired as data), maps each file's path relative to the
spool to its size, mtime, ctime and hash. A file whose three are unchanged gets its hash from the
memo; any other file is read and hashed as before.

Rewriting a file changes its ctime, which no tool can set back (`touch -d` and `rsync -t` set
mtime only), so a changed file is always read again. A file changed less than `settle_s` before
the scan began is left out of the memo, as git treats "racily clean" files: a later change within
the file system's timestamp granularity could leave its stat as it was. The memo only ever says
what a file's content hashes to; whether that content was ingested is still the ledger's answer.
It is a cache: lost, unreadable or from another version, it is ignored and rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

MEMO = ".ato-spool-hashes.json"
VERSION = 1
log = logging.getLogger(__name__)

Stat = tuple[int, int, int]  # size, mtime_ns, ctime_ns


def stat_of(path: Path) -> Stat:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


@dataclass
class HashMemo:
    """The memo of one spool scan: `known` as the last scan left it, `seen` what this scan keeps."""

    spool: Path
    settle_s: float = 2.0
    known: dict[str, tuple[Stat, str]] = field(init=False)
    seen: dict[str, tuple[Stat, str]] = field(init=False, default_factory=dict)
    settled_before_ns: int = field(init=False)  # a file last changed before this is remembered

    def __post_init__(self) -> None:
        self.settled_before_ns = time.time_ns() - int(self.settle_s * 1e9)
        self.known = _load(self.spool / MEMO)

    def lookup(self, rel: str, stat: Stat) -> str | None:
        """The hash of `rel` when its stat is the memo's, else None (read it)."""
        entry = self.known.get(rel)
        if entry is None or entry[0] != stat:
            return None
        self.seen[rel] = entry
        return entry[1]

    def remember(self, rel: str, stat: Stat, sha256: str) -> None:
        """`rel`, just hashed with `stat` taken before reading, kept if it had settled."""
        if max(stat[1], stat[2]) < self.settled_before_ns:
            self.seen[rel] = (stat, sha256)

    def save(self) -> None:
        """Write the files this scan saw (a removed file leaves the memo). A spool this process cannot
        write to (a read-only mount) only costs the next scan its reading."""
        doc = {"version": VERSION, "files": {k: [*s, h] for k, (s, h) in sorted(self.seen.items())}}
        tmp = self.spool / f"{MEMO}.{os.getpid()}.tmp"
        try:
            tmp.write_text(json.dumps(doc, separators=(",", ":")))
            os.replace(tmp, self.spool / MEMO)
        except OSError as e:
            log.warning("spool hash memo not written (%s): the next ingest reads every spool file again", e)
            tmp.unlink(missing_ok=True)


def _load(path: Path) -> dict[str, tuple[Stat, str]]:
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
        if doc.get("version") != VERSION:
            raise ValueError(f"version {doc.get('version')!r}, not {VERSION}")
        return {k: ((int(v[0]), int(v[1]), int(v[2])), str(v[3])) for k, v in doc["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        log.warning("spool hash memo %s ignored (%s): every spool file is read again", path, e)
        return {}
