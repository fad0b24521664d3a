"""Append-only JSON-lines files, one per process and UTC day: the decision audit log, and the
events and feedback the API hands to the nightly ingest (spool folders).

`append` is one `write(2)` of a whole line on an O_APPEND descriptor before the response goes
out: once a decision is acknowledged, a crash of the process cannot lose it (the kernel has
the bytes). A background thread fsyncs every `fsync_s`, which bounds what a machine crash
can lose without putting a disk flush on the request path.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class JsonlAppender:
    def __init__(self, folder: str | Path, prefix: str, fsync_s: float = 1.0) -> None:
        self.folder, self.prefix, self.fsync_s = Path(folder), prefix, fsync_s
        self.worker = f"{socket.gethostname()}-{os.getpid()}"
        self._day: str | None = None
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._dirty = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sync_loop, name=f"fsync-{prefix}", daemon=True)
        self._thread.start()
        self.written = 0

    def path_for(self, day: str) -> Path:
        return self.folder / day / f"{self.prefix}-{self.worker}.jsonl"

    def _open(self, day: str) -> int:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
        path = self.path_for(day)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._day = day
        return self._fd

    def append(self, record: dict[str, Any] | bytes, now: datetime | None = None) -> None:
        """One record (a dict, or a line already encoded, ending in a newline) at the end of today's file."""
        line = record if isinstance(record, bytes) else (json.dumps(record, separators=(",", ":"), default=str)
                                                         + "\n").encode()
        day = (now or datetime.now(UTC)).date().isoformat()
        with self._lock:
            fd = self._fd if day == self._day and self._fd is not None else self._open(day)
            os.write(fd, line)
            self._dirty = True
            self.written += 1

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.fsync_s):
            self.flush()

    def flush(self) -> None:
        """fsync outside the lock: appends (on the request path) never wait for the disk."""
        with self._lock:
            fd, dirty = self._fd, self._dirty
            self._dirty = False
        if dirty and fd is not None:
            with contextlib.suppress(OSError):  # rotated meanwhile: `_open` synced the old file
                os.fsync(fd)

    def close(self) -> None:
        self._stop.set()
        self.flush()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
