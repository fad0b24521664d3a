"""Append-only JSON-lines files, one per process and UTC day: the decision audit log, and the
events and feedback the API hands to the nightly ingest (spool folders).

`append` is one `write(2)` of a whole line on an O_APPEND descriptor before the response goes
out: once a decision is acknowledged, a crash of the process cannot lose it (the kernel has
the bytes). A background thread fsyncs every `fsync_s`, which bounds what a machine crash
can lose without putting a disk flush on the request path.

An erasure (`ato forget`) rewrites an open file too: it writes the kept lines to a new file, then
takes an exclusive `flock` on the file for the lines appended meanwhile and renames the new file
over the open name. Every append and close holds a shared `flock` for its write (or rename), so
none lands between the erasure's last read and its rename, and an appender whose file was replaced
(its inode unlinked) reopens the name and writes there: no line is lost and none of the erased
lines comes back. An append waits for the erasure's tail at most, not for its whole file.

A file is written under an in-progress name, `.open-<prefix>-<host>-<pid>.jsonl` (hidden: the
ingest's discovery and the decisions step's glob skip it), and renamed to
`<prefix>-<host>-<pid>.jsonl` when closed: when the day rolls over, when the process stops, or
when a past day's file has been idle for `close_idle_s`. A closed file never grows again: a
later append to the same day opens a new part, `<prefix>-<host>-<pid>.<n>.jsonl`. Files a
crashed process left open are closed by the next appender of that prefix on the same host
(`recover`) or, for a past day, by whoever reads them (`close_stale`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ato.lake_lock import pid_alive

OPEN = ".open-"  # the in-progress name's prefix
log = logging.getLogger(__name__)


def closed_name(path: Path) -> Path:
    return path.with_name(path.name[len(OPEN):])


def lock_current(path: Path, fd: int, kind: int = fcntl.LOCK_SH, retire: Callable[[int], object] = os.close) -> int:
    """A descriptor of the file now at `path` (`fd` when it still is), flock'ed with `kind` (the
    caller unlocks it): an erasure that replaced the file while we waited for the lock has unlinked
    the inode we held, so we follow the name to its new file and `retire` the old descriptor (its
    close frees the old file's blocks: an appender defers it off the request path)."""
    while True:
        fcntl.flock(fd, kind)
        if os.fstat(fd).st_nlink > 0:
            return fd
        fcntl.flock(fd, fcntl.LOCK_UN)
        new = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        retire(fd)
        fd = new


def _close_left(p: Path, why: str) -> Path | None:
    """Rename a file its writer left open to its closed name (unless that exists); the new path.
    Under an exclusive lock, so an erasure rewriting the file finishes first."""
    target = closed_name(p)
    if target.exists():
        return None
    try:
        fd = os.open(p, os.O_RDONLY)
    except FileNotFoundError:
        return None  # closed meanwhile
    fd = lock_current(p, fd, fcntl.LOCK_EX)
    try:
        p.rename(target)
    finally:
        os.close(fd)  # and its lock
    log.warning("closed %s, left open by %s", target.name, why)
    return target


def close_stale(folder: str | Path, before_day: str, idle_s: float) -> list[Path]:
    """Close (rename) the in-progress files under `folder` of days before `before_day` that no one
    wrote for `idle_s`: their writer is gone (a live one closes its past day's file itself after
    `close_idle_s`). Returns the closed files' new paths."""
    out = []
    for p in sorted(Path(folder).rglob(f"{OPEN}*.jsonl")) if Path(folder).is_dir() else []:
        if (p.parent.name < before_day and time.time() - p.stat().st_mtime >= idle_s
                and (target := _close_left(p, "its writer (a crash?)")) is not None):
            out.append(target)
    return out


class JsonlAppender:
    def __init__(self, folder: str | Path, prefix: str, fsync_s: float = 1.0, close_idle_s: float = 300.0) -> None:
        from ato.ingest.discover import local_folder

        local_folder(str(folder), f"the {prefix} folder")  # a URI would become a local folder named `s3a:`
        self.folder, self.prefix, self.fsync_s, self.close_idle_s = Path(folder), prefix, fsync_s, close_idle_s
        self.host = socket.gethostname()
        self.worker = f"{self.host}-{os.getpid()}"
        self._day: str | None = None
        self._fd: int | None = None
        self._path: Path | None = None  # the open file's in-progress path
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._dirty = False
        self._retired: list[int] = []  # descriptors of files an erasure replaced, closed by `flush`
        self.recover()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sync_loop, name=f"fsync-{prefix}", daemon=True)
        self._thread.start()
        self.written = 0

    def path_for(self, day: str, part: int = 0) -> Path:
        """The closed name of this worker's `part`-th file of `day`."""
        return self.folder / day / f"{self.prefix}-{self.worker}{f'.{part}' if part else ''}.jsonl"

    def recover(self) -> list[Path]:
        """Close the files this host's dead processes left open under our prefix."""
        out = []
        for p in sorted(self.folder.rglob(f"{OPEN}{self.prefix}-{self.host}-*.jsonl")):
            pid = p.name[len(f"{OPEN}{self.prefix}-{self.host}-"):].split(".")[0]
            if (pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid))
                    and (target := _close_left(p, "a stopped process")) is not None):
                out.append(target)
        return out

    def _close_current(self) -> None:
        if self._fd is not None and self._path is not None:
            self._fd = lock_current(self._path, self._fd)
            os.fsync(self._fd)
            os.rename(self._path, closed_name(self._path))
            os.close(self._fd)  # and its lock
        self._fd, self._path, self._day = None, None, None

    def _open(self, day: str) -> int:
        self._close_current()
        part = 0
        while (final := self.path_for(day, part)).exists() or (final.parent / f"{OPEN}{final.name}").exists():
            part += 1
        final.parent.mkdir(parents=True, exist_ok=True)
        self._path = final.parent / f"{OPEN}{final.name}"
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._day = day
        return self._fd

    def append(self, record: dict[str, Any] | bytes, now: datetime | None = None) -> None:
        """One record (a dict, or a line already encoded, ending in a newline) at the end of today's file."""
        line = record if isinstance(record, bytes) else (json.dumps(record, separators=(",", ":"), default=str)
                                                         + "\n").encode()
        day = (now or datetime.now(UTC)).date().isoformat()
        with self._lock:
            fd = self._fd if day == self._day and self._fd is not None else self._open(day)
            assert self._path is not None
            self._fd = fd = lock_current(self._path, fd, retire=self._retired.append)
            try:
                os.write(fd, line)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._dirty = True
            self._last = time.monotonic()
            self.written += 1

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.fsync_s):
            self.flush()
            self.close_idle()

    def close_idle(self, now: datetime | None = None) -> bool:
        """Close the open file if it is of a past (UTC) day and idle for `close_idle_s`."""
        today = (now or datetime.now(UTC)).date().isoformat()
        with self._lock:
            if self._day is not None and self._day < today and time.monotonic() - self._last >= self.close_idle_s:
                self._close_current()
                return True
        return False

    def flush(self) -> None:
        """fsync outside the lock: appends (on the request path) never wait for the disk."""
        with self._lock:
            fd, dirty, retired = self._fd, self._dirty, self._retired
            self._dirty, self._retired = False, []
        for old in retired:
            os.close(old)
        if dirty and fd is not None:
            with contextlib.suppress(OSError):  # rotated meanwhile: `_open` synced the old file
                os.fsync(fd)

    def close(self) -> None:
        self._stop.set()
        self.flush()
        with self._lock:
            self._close_current()
