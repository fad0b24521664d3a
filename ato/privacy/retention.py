"""The nightly `retention` step (`ato retention --date D`; no JVM, delta-rs): every store of the
registry (`ato.privacy.stores`) loses what is older than its retention on night D.

- Tables: rows whose `age_by` date is before D - days are deleted (whole partitions where the
  table is partitioned by it), the table properties `delta.deletedFileRetentionDuration` and
  `delta.logRetentionDuration` set to `retention.vacuum_hours` / `log_days`, then VACUUM removes
  files no version newer than that grace period needs, and the log is checkpointed and trimmed.
- Folders: spool files dated before D - raw_days that the ingest ledger lists (a file never
  ingested is kept and reported: deleting it would lose events), audit day folders before
  D - decision_days.
- `<lake>/_retention/horizon.json` records the first day bronze still holds: ingest quarantines
  events dated before it, whose silver day could no longer be rebuilt from bronze.
- One line per run in `<lake>/_retention/log.jsonl` (tables, rows and files removed; no ids).

Dated by the night, not the clock, so re-running a night removes nothing more (idempotent), and a
replayed world keeps its own calendar.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ato import deltars
from ato.ingest.discover import sha256_of
from ato.privacy.stores import FOLDERS, TABLES, Table, days
from ato.tables import LEDGER

if TYPE_CHECKING:
    from ato.progress import Progress
    from ato.settings import Settings

DAY = re.compile(r"(\d{4}-\d{2}-\d{2})")
STATE = "_retention"


@dataclass
class RetentionRun:
    night: str
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> cutoff, rows, files vacuumed
    files: dict[str, int] = field(default_factory=dict)  # folder -> files removed
    kept_not_ingested: list[str] = field(default_factory=list)  # expired spool files the ledger lacks
    bronze_horizon: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def state_dir(settings: Settings) -> Path:
    return Path(settings.paths.lake_root) / STATE


def bronze_horizon(settings: Settings) -> date | None:
    """The first day bronze still holds after the last retention run (None: never run)."""
    path = state_dir(settings) / "horizon.json"
    return date.fromisoformat(json.loads(path.read_text())["bronze"]) if path.is_file() else None


def _predicate(t: Table, cutoff: date) -> str:
    assert t.age_by is not None
    if t.age_by.startswith("_") or t.age_by.endswith("_at"):  # a timestamp
        return f"{t.age_by} < '{cutoff.isoformat()}T00:00:00Z'"
    return f"{t.age_by} < '{cutoff.isoformat()}'"


def _table(settings: Settings, t: Table, night: date) -> dict[str, Any] | None:
    n = days(settings, t)
    if n is None or t.age_by is None or not deltars.exists(settings, t.layer, t.name):
        return None
    cutoff = night - timedelta(days=n)
    r = settings.retention
    rows = deltars.delete(settings, t.layer, t.name, _predicate(t, cutoff))
    vacuumed = deltars.housekeep(settings, t.layer, t.name, vacuum_hours=r.vacuum_hours, log_days=r.log_days)
    return {"cutoff": cutoff.isoformat(), "days": n, "rows": rows, "files_vacuumed": vacuumed}


def _day(path: Path, root: Path) -> date | None:
    m = DAY.search(str(path.relative_to(root)))
    return date.fromisoformat(m.group(1)) if m else None


def ingested_hashes(settings: Settings) -> set[str]:
    """SHA-256 of every file the ingest ledger took in: a spool file is removed only when exactly
    its content was ingested (one still being appended to has another hash)."""
    if not deltars.exists(settings, "bronze", LEDGER):
        return set()
    return set(deltars.read(settings, "bronze", LEDGER, ["sha256"]).column("sha256").to_pylist())


def _folders(settings: Settings, night: date, out: RetentionRun) -> None:
    for folder in FOLDERS:
        n, root = days(settings, folder), folder.root(settings)
        if n is None or not root.is_dir():
            continue
        cutoff, removed = night - timedelta(days=n), 0
        if folder.name == "spool":
            ingested = ingested_hashes(settings)
            for f in sorted(p for p in root.rglob("*") if p.is_file()):
                d = _day(f, root)
                if d is None or d >= cutoff:
                    continue
                if sha256_of(f) in ingested:
                    f.unlink()
                    removed += 1
                else:
                    out.kept_not_ingested.append(str(f.relative_to(root)))
        else:
            for sub in sorted(p for p in root.iterdir() if p.is_dir()):
                d = _day(sub, root)
                if d is not None and d < cutoff:
                    removed += sum(1 for p in sub.rglob("*") if p.is_file())
                    shutil.rmtree(sub)
        out.files[folder.name] = removed


def run_retention(settings: Settings, night: date, progress: Progress | None = None) -> RetentionRun:
    """Apply the retention policy on `night` (module docstring)."""
    from ato.progress import Progress

    progress = progress or Progress()
    out = RetentionRun(night.isoformat())
    for t in progress.track(TABLES, len(TABLES), "retention: tables"):
        done = _table(settings, t, night)
        if done is not None:
            out.tables[t.key] = done
    _folders(settings, night, out)
    raw = settings.retention.raw_days
    out.bronze_horizon = (night - timedelta(days=raw)).isoformat()
    state = state_dir(settings)
    state.mkdir(parents=True, exist_ok=True)
    previous = bronze_horizon(settings)
    if previous is None or previous.isoformat() < out.bronze_horizon:  # a re-run of an older night keeps the later one
        (state / "horizon.json").write_text(json.dumps({"bronze": out.bronze_horizon, "night": out.night}))
    with (state / "log.jsonl").open("a") as f:
        f.write(json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), **out.as_dict()}) + "\n")
    rows = sum(v["rows"] for v in out.tables.values())
    progress.info(f"retention {night}: {rows} rows from {sum(1 for v in out.tables.values() if v['rows'])} tables, "
                  f"{sum(out.files.values())} files removed; {len(out.kept_not_ingested)} expired spool files kept "
                  "(never ingested)")
    return out
