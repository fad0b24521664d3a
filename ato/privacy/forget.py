"""`ato forget --account ID [--reason R] [--purge]`: erase one account from every store of the
registry (`ato.privacy.stores`), README "Personal data".

1. Lake tables: rows whose `account_id` is the account are deleted (delta-rs rewrites the files
   that held them: one atomic commit per table); quarantine loses the records whose raw text
   names it. The files the deletes replaced stay for `retention.vacuum_hours` (time travel),
   then the nightly retention step VACUUMs them; `--purge` VACUUMs the touched tables at once.
   The lake is protocol 1/2 (no deletion vectors), so delta-rs and DuckDB keep reading it.
2. Files: spool files (ingested or not) and the API's audit files lose the lines naming the
   account (a rewritten spool file that was ingested is recorded in the ingest ledger under its
   new hash, so it is not ingested again); every published snapshot loses its rows (manifest
   rewritten to match, so serving's next reload verifies and picks it up).
3. Redis (when `serving.store` is redis, or with --redis-url): snapshot rows, speed-layer keys and
   its members in the IP/device windows.
4. An erasure record in `<lake>/_erasure/erasures.jsonl`: a keyed hash of the id (never the id),
   time, reason, rows and lines removed per store. While it runs, `<lake>/_erasure/pending/<hash>`
   says so (`ato forget --pending` lists them, by hash: the id is not kept); a forget that stopped
   part-way is finished by running the same command again (every step only removes what is still
   there).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ato import deltars
from ato.privacy import pseudonymize
from ato.privacy.forget_files import (
    check_account,
    data_files,
    forget_in_file,
    forget_in_snapshot,
    sha256,
    token_regex,
)
from ato.privacy.retention import ingested_hashes
from ato.privacy.stores import FOLDERS, TABLES, Table
from ato.tables import LEDGER

if TYPE_CHECKING:
    from ato.progress import Progress
    from ato.settings import Settings

FOLDER = "_erasure"


@dataclass
class Erasure:
    subject: str  # HMAC of "account:<id>" under the deployment's key
    reason: str
    started_at: str
    finished_at: str | None = None
    purged: bool = False
    tables: dict[str, int] = field(default_factory=dict)  # layer/table -> rows removed
    files: dict[str, int] = field(default_factory=dict)  # folder -> lines or rows removed
    files_rewritten: int = 0
    redis: dict[str, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def subject(settings: Settings, account: str) -> str:
    return pseudonymize(settings.hmac_key_bytes(), f"account:{account}", 64) or ""


def _folder(settings: Settings) -> Path:
    return Path(settings.paths.lake_root) / FOLDER


def _matchers(t: Table, account: str) -> list[tuple[list[str], Any, Any]]:
    """(columns, match, fix) per way `t` holds the account: its rows, its raw text, or its sets."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out: list[tuple[list[str], Any, Any]] = []
    for acc in ((t.account,) if t.account is not None else ()) + t.also:
        def rows(tbl: pa.Table, c: str = acc) -> pa.Array:
            return pc.fill_null(pc.equal(tbl[c], account), False)
        out.append(([acc], rows, lambda tbl, r=rows: tbl.filter(pc.invert(r(tbl)))))
    if t.account is None and "raw" in t.raw:
        def text(tbl: pa.Table) -> pa.Array:
            return pc.fill_null(pc.match_substring_regex(tbl["raw"], token_regex(account)), False)
        out.append((["raw"], text, lambda tbl: tbl.filter(pc.invert(text(tbl)))))
    for col in t.lists:
        def member(tbl: pa.Table, c: str = col) -> pa.Array:
            flat = pc.list_flatten(tbl[c])
            hit = pc.list_parent_indices(tbl[c]).filter(pc.fill_null(pc.equal(flat, account), False))
            return pc.is_in(pa.array(range(len(tbl))), value_set=pa.array(hit.to_pylist(), pa.int64()))

        def drop(tbl: pa.Table, c: str = col) -> pa.Table:
            lists = [None if v is None else [x for x in v if x != account] for v in tbl[c].to_pylist()]
            return tbl.set_column(tbl.schema.get_field_index(c), c, pa.array(lists, tbl.schema.field(c).type))
        out.append(([col], member, drop))
    return out


def _tables(settings: Settings, account: str, out: Erasure, purge: bool, fail_after: int | None) -> None:
    for i, t in enumerate(TABLES):
        if fail_after is not None and i >= fail_after:
            raise RuntimeError(f"injected failure before {t.key}")
        ways = _matchers(t, account)
        if not ways or not deltars.exists(settings, t.layer, t.name):
            continue
        n = sum(deltars.rewrite(settings, t.layer, t.name, cols, match, fix) for cols, match, fix in ways)
        out.tables[t.key] = out.tables.get(t.key, 0) + n
        if purge:
            deltars.housekeep(settings, t.layer, t.name, vacuum_hours=0, log_days=settings.retention.log_days)
            deltars.trim_log(settings, t.layer, t.name, settings.retention.log_days)


def _files(settings: Settings, account: str, out: Erasure) -> None:
    import pyarrow as pa

    ingested = ingested_hashes(settings)
    for folder in FOLDERS:
        root = folder.root(settings)
        if not root.is_dir():
            continue
        removed = 0
        if folder.name == "online":
            for snap in sorted(p for p in (root / "snapshots").glob("*") if p.is_dir()):
                n = forget_in_snapshot(snap, account)
                removed, out.files_rewritten = removed + n, out.files_rewritten + (2 if n else 0)
        else:
            for f in data_files(root):
                rewrite = forget_in_file(f, account)
                if not rewrite.removed:
                    continue
                removed, out.files_rewritten = removed + rewrite.removed, out.files_rewritten + 1
                if folder.name == "spool" and rewrite.before in ingested:
                    # the new content stands for what was ingested: never again
                    deltars.write(settings, "bronze", LEDGER, pa.table({
                        "sha256": [sha256(f)], "path": [str(f)], "_ingest_id": [f"forget:{out.subject[:12]}"],
                        "_ingested_at": pa.array([datetime.now(UTC)], pa.timestamp("us", "UTC"))}), schema_mode="merge")
        out.files[folder.name] = out.files.get(folder.name, 0) + removed


def _redis(settings: Settings, account: str, url: str | None) -> dict[str, int] | None:
    if url is None and settings.serving.store != "redis":
        return None
    import redis

    from ato.privacy.forget_redis import forget_in_redis

    client = redis.Redis.from_url(url or settings.serving.redis_url)
    try:
        return forget_in_redis(client, account)
    finally:
        client.close()


def forget(settings: Settings, account: str, reason: str = "erasure request", purge: bool = False,
           redis_url: str | None = None, progress: Progress | None = None,
           _fail_after_tables: int | None = None) -> Erasure:
    """Erase `account` everywhere (module docstring), holding the lake's writer lock; the erasure record."""
    from ato.lake_lock import writer_lock

    with writer_lock(settings.paths.lake_root, "ato forget", settings.batch.lock_wait_s):
        return _forget(settings, account, reason, purge, redis_url, progress, _fail_after_tables)


def _forget(settings: Settings, account: str, reason: str, purge: bool, redis_url: str | None,
            progress: Progress | None, _fail_after_tables: int | None) -> Erasure:
    from ato.progress import Progress

    progress = progress or Progress()
    check_account(account)
    sid = subject(settings, account)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    out = Erasure(sid, reason, now, purged=purge)
    pending = _folder(settings) / "pending" / sid
    pending.parent.mkdir(parents=True, exist_ok=True)
    pending.write_text(json.dumps({"subject": sid, "reason": reason, "started_at": now}))
    with progress.step("forget: Redis (snapshot rows, speed layer)"):
        out.redis = _redis(settings, account, redis_url)
    with progress.step(f"forget: {len(TABLES)} lake tables"):
        _tables(settings, account, out, purge, _fail_after_tables)
    with progress.step("forget: spool, audit and snapshot files"):
        _files(settings, account, out)
    out.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    with (_folder(settings) / "erasures.jsonl").open("a") as f:
        f.write(json.dumps(out.as_dict()) + "\n")
    pending.unlink()
    progress.info(f"forget {sid[:12]}: {sum(out.tables.values())} rows from {sum(1 for v in out.tables.values() if v)} "
                  f"tables, {sum(out.files.values())} lines or rows from {out.files_rewritten} files"
                  + (f", Redis {out.redis}" if out.redis is not None else ""))
    return out


def pending(settings: Settings) -> list[str]:
    """Subjects (hashes) of erasures that started and did not finish."""
    folder = _folder(settings) / "pending"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
