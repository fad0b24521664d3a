"""One writer at a time per group of tables: `<lake root>/_lock/writer.json` for the batch layer's
tables (bronze, silver, the gate log, rings, aggregates, training sets) and
`<lake root>/_lock/monitoring.json` for the monitoring tables (gold/decisions and what the monitor
step derives from it), each created atomically by the run that writes (the nightly, `ato ingest`,
`ato forget`), naming its owner, host, pid, what it runs and since when. The two groups share no
table, so the nightly DAG's monitoring branch writes while its batch branch does; a run that writes
both (a backfill, retention, `ato forget`) takes both, always batch first.

A second writer waits up to `batch.lock_wait_s` (`--lock-wait`) and then refuses with the holder's
name and age (`LakeBusy`). A lock whose process is gone on this host is taken over with a warning;
one held from another host is never broken automatically (the message says which file to remove
once that host's run is known to be dead). Nested use in the same process is free (a nightly whose
steps also lock). An object-store lake root (`s3a://`...) has no local file to lock: its runs must
be serialised by the scheduler (one Airflow run at a time, `max_active_runs=1`)."""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
BATCH, MONITORING = "batch", "monitoring"
LOCKS = {BATCH: "_lock/writer.json", MONITORING: "_lock/monitoring.json"}  # taken in this order
LOCK = LOCKS[BATCH]
_held: dict[str, int] = {}  # lock path -> nesting depth in this process


class LakeBusy(RuntimeError):
    """Another writer holds the lake."""


def pid_alive(pid: int) -> bool:
    """Is process `pid` running on this host?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder(root: str, domain: str = BATCH) -> dict[str, Any] | None:
    """Who holds the lake's writer lock of `domain` (None when no one, or the file is being replaced)."""
    try:
        doc = json.loads((Path(root) / LOCKS[domain]).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _age(since: str) -> str:
    try:
        s = int((datetime.now(UTC) - datetime.fromisoformat(since)).total_seconds())
    except ValueError:
        return "unknown time"
    return f"{s // 3600} h {s % 3600 // 60} min" if s >= 3600 else f"{s // 60} min {s % 60} s"


def busy_message(root: str, h: dict[str, Any], domain: str = BATCH) -> str:
    return (f"the lake {root} ({domain} tables) is being written by `{h.get('what')}` of {h.get('owner')} (pid {h.get('pid')} on "
            f"{h.get('host')}) since {h.get('since')} ({_age(str(h.get('since')))} ago): one writer at a time. Wait "
            f"for it (--lock-wait SECONDS, or batch.lock_wait_s), or, if that run is known to be dead on its host, "
            f"remove {Path(root) / LOCKS[domain]}")


def _try(path: Path, me: dict[str, Any]) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(me))
    return True


@contextlib.contextmanager
def writer_lock(root: str, what: str, wait_s: float = 0.0, poll_s: float = 0.5,
                on_wait: Callable[[dict[str, Any]], None] | None = None,
                domains: tuple[str, ...] = tuple(LOCKS)) -> Iterator[None]:
    """Hold the lake's writer locks of `domains` (default: every table) for the block, taken in
    LOCKS order; wait up to `wait_s` in all for them, then LakeBusy."""
    if "://" in root:
        log.warning("no writer lock on %s (object store): serialise its writers in the scheduler", root)
        yield
        return
    deadline = time.monotonic() + wait_s
    with contextlib.ExitStack() as stack:
        for d in (d for d in LOCKS if d in domains):
            stack.enter_context(_domain_lock(root, d, what, deadline, poll_s, on_wait))
        yield


@contextlib.contextmanager
def _domain_lock(root: str, domain: str, what: str, deadline: float, poll_s: float,
                 on_wait: Callable[[dict[str, Any]], None] | None) -> Iterator[None]:
    path = Path(root) / LOCKS[domain]
    key = str(path.resolve())
    if _held.get(key):
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    me = {"owner": f"{getpass.getuser()}@{host}", "host": host, "pid": os.getpid(), "what": what,
          "since": datetime.now(UTC).isoformat(timespec="seconds")}
    told = False
    while not _try(path, me):
        h = holder(str(root), domain)
        if h is None:
            if not path.exists():
                continue  # released meanwhile: try again
            # being written this instant, or left empty by a crash between create and write
            h = {"what": "unknown (the lock file is empty or unreadable)", "owner": "?", "pid": "?", "host": "?",
                 "since": "?"}
        if h.get("host") == host and isinstance(h.get("pid"), int) and not pid_alive(h["pid"]):
            log.warning("taking over the writer lock of a stopped process (pid %s, %s)", h["pid"], h.get("what"))
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        if time.monotonic() >= deadline:
            raise LakeBusy(busy_message(str(root), h, domain))
        if not told:
            told = True
            log.warning("waiting for the lake's writer lock: %s", busy_message(str(root), h, domain))
            if on_wait:
                on_wait(h)
        time.sleep(poll_s)
    _held[key] = 1
    try:
        yield
    finally:
        _held.pop(key, None)
        if (h := holder(str(root), domain)) is not None and h.get("pid") == os.getpid() and h.get("since") == me["since"]:
            path.unlink()
