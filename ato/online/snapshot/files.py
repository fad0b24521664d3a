"""Publish a gold snapshot for serving: compact Parquet files keyed by account, IP and device
under `<online.snapshot_dir>/snapshots/<as_of>/`, a manifest with row counts and hashes, and a
`CURRENT` pointer swapped atomically last, so a reader sees the old snapshot or the new one,
never half of one. Reads the lake through delta-rs (no JVM). `read_snapshot` reads the live one
back as plain rows (the embedded store, the Redis load).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ato import deltars
from ato.features.columns import ACCOUNT_FEATURES, ENTITY_FEATURES
from ato.features.request import HISTORY_COLUMNS
from ato.ingest.discover import sha256_of
from ato.privacy import key_fingerprint
from ato.sensitive.events import account_states
from ato.settings import Settings
from ato.tables import ENTITY_KEYS, SNAPSHOT_TABLES

ACTION_KIND = "action"  # the per-account action states (`ato.features.actions.ActionState`, JSON)
STATES_FORMAT = 2  # 2: with last_event_date; a later snapshot folds on from one of the same format

SERVING_COLUMNS: dict[str, tuple[str, ...]] = {
    "account": tuple(dict.fromkeys((ENTITY_KEYS["account"], *ACCOUNT_FEATURES, *HISTORY_COLUMNS))),
    "ip": (ENTITY_KEYS["ip"], *ENTITY_FEATURES),
    "device": (ENTITY_KEYS["device"], *ENTITY_FEATURES),
}


@dataclass(frozen=True)
class Published:
    as_of: str
    path: str
    rows: dict[str, int]


def current(settings: Settings) -> dict[str, Any] | None:
    """The live snapshot's manifest, or None when nothing was ever published."""
    ptr = Path(settings.online.snapshot_dir) / "CURRENT"
    if not ptr.exists():
        return None
    target = Path(settings.online.snapshot_dir) / json.loads(ptr.read_text())["path"]
    return dict(json.loads((target / "manifest.json").read_text()))


def publish(settings: Settings, as_of: date) -> Published:
    """Export the as-of snapshot and make it the live one; prunes old published snapshots."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    root = Path(settings.online.snapshot_dir)
    rel = f"snapshots/{as_of.isoformat()}"
    tmp = root / f"{rel}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows: dict[str, int] = {}
    files: dict[str, dict[str, Any]] = {}
    for kind, table in SNAPSHOT_TABLES.items():
        tbl = deltars.read(settings, "gold", table, list(SERVING_COLUMNS[kind]), pc.field("as_of_date") == as_of)
        key = SERVING_COLUMNS[kind][0]
        tbl = tbl.sort_by(key)
        out = tmp / f"{kind}.parquet"
        pq.write_table(tbl, out, compression="zstd")
        rows[kind], files[kind] = tbl.num_rows, {"file": out.name, "sha256": sha256_of(out), "key": key}
    if rows["account"] == 0:
        shutil.rmtree(tmp)
        raise ValueError(f"no account snapshot for {as_of}: nothing to publish")
    # What the next day's sensitive actions are scored on: folded on from an earlier snapshot's states.
    earlier = earlier_states(settings, as_of)
    states = account_states(settings, as_of, None if earlier is None else earlier[1])
    out = tmp / f"{ACTION_KIND}.parquet"
    pq.write_table(states, out, compression="zstd")
    rows[ACTION_KIND], files[ACTION_KIND] = states.num_rows, {"file": out.name, "sha256": sha256_of(out),
                                                              "key": "account_id", "format": STATES_FORMAT,
                                                              "folded_from": None if earlier is None else earlier[0]}
    manifest = {"as_of": as_of.isoformat(), "rows": rows, "files": files,
                "columns": {k: list(v) for k, v in SERVING_COLUMNS.items()},
                "key_fingerprint": key_fingerprint(settings.hmac_key_bytes())}  # serving checks its key against it
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
    final = root / rel
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    ptr_tmp = root / "CURRENT.tmp"
    ptr_tmp.write_text(json.dumps({"as_of": as_of.isoformat(), "path": rel}))
    os.replace(ptr_tmp, root / "CURRENT")
    _prune(root / "snapshots", keep=settings.online.keep_snapshots, live=final.name)
    return Published(as_of.isoformat(), str(final), rows)


def earlier_states(settings: Settings, as_of: date) -> tuple[str, Any] | None:
    """(its as-of date, the table) of the action states published for as_of - k (k =
    `batch.rebuild_partials_days`), which `account_states` folds on from; None when that snapshot
    is gone, was made under another key or states format, or its file does not match its manifest
    (then the states are folded from the whole window)."""
    import pyarrow.parquet as pq

    day = (as_of - timedelta(days=settings.batch.rebuild_partials_days)).isoformat()
    folder = Path(settings.online.snapshot_dir) / "snapshots" / day
    if not (folder / "manifest.json").is_file():
        return None
    m = json.loads((folder / "manifest.json").read_text())
    entry = m["files"].get(ACTION_KIND, {})
    if m.get("key_fingerprint") != key_fingerprint(settings.hmac_key_bytes()) or entry.get("format") != STATES_FORMAT:
        return None
    path = folder / entry["file"]
    if not path.is_file() or sha256_of(path) != entry["sha256"]:
        return None
    return day, pq.read_table(path)


def _prune(folder: Path, keep: int, live: str) -> None:
    snaps = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.endswith(".tmp"))
    for p in snaps[:-keep]:
        if p.name != live:
            shutil.rmtree(p)


def load(settings: Settings, kind: str) -> Any:
    """The live snapshot's table of one kind as a pandas DataFrame, verified against the manifest."""
    import pandas as pd

    m = current(settings)
    if m is None:
        raise FileNotFoundError(f"no snapshot published under {settings.online.snapshot_dir}")
    path = Path(settings.online.snapshot_dir) / "snapshots" / m["as_of"] / m["files"][kind]["file"]
    if sha256_of(path) != m["files"][kind]["sha256"]:
        raise ValueError(f"{path}: content does not match its manifest")
    return pd.read_parquet(path)


def read_snapshot(settings: Settings) -> tuple[str | None, dict[str, dict[str, dict[str, Any]]]]:
    """The live published snapshot as {kind: {key: row}} (rows as plain Python values)."""
    m = current(settings)
    if m is None:
        return None, {"account": {}, "ip": {}, "device": {}}
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in ("account", "ip", "device"):
        df = load(settings, kind)
        key = m["files"][kind]["key"]
        records = df.to_dict("records")
        for r in records:
            for c, v in r.items():
                if hasattr(v, "tolist"):  # list columns arrive as numpy arrays
                    r[c] = v.tolist()
        tables[kind] = {str(r[key]): r for r in records}
    return str(m["as_of"]), tables


def read_action_states(settings: Settings) -> tuple[str | None, dict[str, str]]:
    """The live snapshot's per-account action states (account id -> state JSON); {} when the
    snapshot has none (published before action states existed)."""
    m = current(settings)
    if m is None or ACTION_KIND not in m["files"]:
        return (None if m is None else str(m["as_of"])), {}
    df = load(settings, ACTION_KIND)
    return str(m["as_of"]), dict(zip(df["account_id"].astype(str), df["action_state"].astype(str), strict=True))


def published_as_of(settings: Settings) -> str | None:
    """The live snapshot's date, read from the pointer alone (cheap: the reload loop polls it)."""
    ptr = Path(settings.online.snapshot_dir) / "CURRENT"
    return str(json.loads(ptr.read_text())["as_of"]) if ptr.exists() else None
