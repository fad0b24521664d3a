"""gold/decisions: the API's audit log for one day, loaded by the nightly `decisions` step.

Every worker appends `<serving.audit_dir>/<D>/decisions-<host>-<pid>.jsonl` (under an in-progress
name until closed: `ato.online.decide.appender`; UTC day of the decision; with `serving.clock: replay`, of the replayed event, so a recorded day lands on its day). Loading day D replaces the `decided_date = D` partition (delta-rs, no JVM), so a
re-run gives the same table; a line that is not a decision (cut by a full disk, say) is counted
and left out, never guessed at. A day is never replaced by fewer decisions than it holds (another
host's files not collected yet, a half-restored audit folder) unless forced: `DecisionsShrink`.
A decision of an account in the erasure register (`ato.privacy.erased`) made up to its erasure (a
login decided while `ato forget` ran, its line written after the erasure passed the file) is
counted and left out too, so it does not bring the account back into gold.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from ato import deltars
from ato.settings import Settings
from ato.tables import DECISIONS

SCHEMA = pa.schema([
    ("decision_id", pa.string()), ("event_id", pa.string()),
    ("decided_at", pa.timestamp("us", tz="UTC")), ("event_time", pa.timestamp("us", tz="UTC")),
    ("account_id", pa.string()), ("ip_hash", pa.string()), ("device_hash", pa.string()),
    ("channel", pa.string()), ("outcome", pa.string()), ("risk_score", pa.float64()), ("action", pa.string()),
    ("reasons", pa.list_(pa.string())), ("fallback_level", pa.int32()), ("model_version", pa.string()),
    ("latency_ms", pa.float64()), ("snapshot_as_of", pa.string()), ("store_error", pa.string()),
    ("guardrails", pa.list_(pa.string())), ("key_name", pa.string()), ("model_action", pa.string()),
    ("shadow_version", pa.string()), ("shadow_score", pa.float64()), ("shadow_action", pa.string()),
    ("features_json", pa.string()), ("source_file", pa.string()), ("decided_date", pa.date32()),
])
REQUIRED = ("decision_id", "decided_at", "account_id", "action", "fallback_level")


class DecisionsShrink(ValueError):
    """The audit files hold fewer decisions for a day than gold/decisions already has."""


@dataclass(frozen=True)
class Loaded:
    day: str
    files: int
    rows: int
    bad_lines: int
    erased: int  # decisions of erased accounts, made up to their erasure: left out
    by_level: dict[int, int]


def _row(d: dict[str, Any], source: str, day: date) -> dict[str, Any]:
    ts = {k: datetime.fromisoformat(d[k]) if d.get(k) else None for k in ("decided_at", "event_time")}
    feats = d.get("features")
    if feats is not None:  # null for a missing feature (older lines: NaN); strict JSON
        feats = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in feats.items()}
    return {**{f.name: d.get(f.name) for f in SCHEMA}, **ts,
            "features_json": None if feats is None else json.dumps(feats, separators=(",", ":"), allow_nan=False),
            "source_file": source, "decided_date": day}


def read_audit(settings: Settings, day: date) -> tuple[pa.Table, int, int, int]:
    """(decisions of `day`, files read, lines that were not decisions, decisions of erased accounts
    made up to their erasure, left out)."""
    from ato.online.decide.appender import close_stale
    from ato.privacy.erased import matcher

    folder = Path(settings.serving.audit_dir) / day.isoformat()
    close_stale(folder, datetime.now(UTC).date().isoformat(), settings.serving.open_file_stale_s)
    files = sorted(folder.glob("decisions-*.jsonl")) if folder.is_dir() else []
    rows, bad, erased = [], 0, 0
    gone = matcher(settings)
    for f in files:
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                d = json.loads(line)
                if not all(d.get(k) is not None for k in REQUIRED):
                    raise ValueError("missing fields")
                row = _row(d, f.name, day)
            except ValueError:
                bad += 1
                continue
            if gone is not None and gone(row["account_id"], row["decided_at"]):
                erased += 1
            else:
                rows.append(row)
    rows.sort(key=lambda r: (r["decided_at"], r["decision_id"]))
    return pa.Table.from_pylist(rows, schema=SCHEMA), len(files), bad, erased


def held(settings: Settings, day: date) -> int:
    """Decisions gold/decisions holds for `day` (0 without the table)."""
    import pyarrow.compute as pc

    try:
        return deltars.read(settings, "gold", DECISIONS, ["decision_id"], pc.field("decided_date") == day).num_rows
    except deltars.NoTable:
        return 0


def load_decisions(settings: Settings, day: date, force: bool = False) -> Loaded:
    """Replace gold/decisions for `day` with what the audit log holds for it; refused
    (DecisionsShrink) when that is fewer decisions than the day has, unless `force`."""
    table, files, bad, erased = read_audit(settings, day)
    # erased decisions are left out on purpose, not missing: they do not count as a shrink
    if not force and table.num_rows + erased < (before := held(settings, day)):
        raise DecisionsShrink(
            f"gold/decisions holds {before:,} decisions for {day}, the audit files here give {table.num_rows:,} "
            f"({files} file(s) in {Path(settings.serving.audit_dir) / day.isoformat()}): replacing the day would lose "
            f"{before - table.num_rows:,}. Collect every host's decisions-*.jsonl first, or force it "
            "(`ato nightly --steps decisions --force-decisions`)")
    deltars.write(settings, "gold", DECISIONS, table, mode="overwrite", predicate=f"decided_date = '{day.isoformat()}'",
                  partition_by=["decided_date"], schema_mode="merge")
    levels = table.column("fallback_level").to_pylist()
    return Loaded(day.isoformat(), files, table.num_rows, bad, erased, {lv: levels.count(lv) for lv in sorted(set(levels))})
