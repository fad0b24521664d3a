"""`ato forget --account ID [--account ID2 ...] [--accounts-file F] [--reason R] [--purge]`: erase
accounts from every store of the registry (`ato.privacy.stores`), README "Personal data". A batch
costs one pass over each store, whatever its size (a day's erasure requests together), and ends
in the state erasing its accounts one at a time would leave.

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
   its members in the IP/device windows, swept twice (`speed.erasure_grace_s` apart) so a login
   racing the erasure leaves nothing.
4. An erasure record per account in `<lake>/_erasure/erasures.jsonl`: a keyed hash of the id (never
   the id), its batch, time, reason, rows and lines removed per store that named it. While it runs, `<lake>/_erasure/pending/<hash>`
   says so (`ato forget --pending` lists them, by hash: the id is not kept); a forget that stopped
   part-way is finished by running the same command again (every step only removes what is still
   there). These records (and the markers) are also the erasure register ingest checks, so the
   account's events arriving later stay out of the lake (`ato.privacy.erased`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ato import deltars
from ato.ingest.discover import sha256_of as sha256
from ato.privacy.erased import PENDING, RECORDS, subject
from ato.privacy.erased import folder as erasure_folder
from ato.privacy.forget_files import (
    SEPARATORS,
    check_account,
    data_files,
    forget_in_file,
    forget_in_snapshot,
    named_in,
    per_account,
)
from ato.privacy.retention import ingested_hashes
from ato.privacy.stores import FOLDERS, TABLES, Table
from ato.tables import LEDGER

if TYPE_CHECKING:
    import pyarrow as pa

    from ato.progress import Progress
    from ato.settings import Settings


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
    batch: str = ""  # the run that erased it (a hash of its subjects), shared by the accounts erased together
    batch_size: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Way:
    """One way a table holds the accounts: the columns to read, which rows name them, those rows
    rewritten without them, and the matched rows counted per account."""

    columns: list[str]
    match: Callable[[pa.Table], pa.Array]
    fix: Callable[[pa.Table], pa.Table]
    who: Callable[[pa.Table], Counter[str]]


def _rows_listing(lists: pa.Array | pa.ChunkedArray, value_set: pa.Array) -> pa.Array:
    """Which rows of a list column hold one of `value_set`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    flat = pc.list_flatten(lists)
    hit = pc.list_parent_indices(lists).filter(pc.fill_null(pc.is_in(flat, value_set=value_set), False))
    return pc.is_in(pa.array(range(len(lists)), pa.int64()), value_set=pc.unique(hit).cast(pa.int64()))


def _dropping(match: Callable[[pa.Table], pa.Array]) -> Callable[[pa.Table], pa.Table]:
    import pyarrow.compute as pc

    return lambda tbl: tbl.filter(pc.invert(match(tbl)))


def _ways(t: Table, accounts: Sequence[str]) -> list[Way]:
    """How `t` holds the accounts: in its rows, its raw text, or its sets."""
    import pyarrow as pa
    import pyarrow.compute as pc

    value_set = pa.array(sorted(accounts), pa.string())
    wanted = {a.encode() for a in accounts}
    out: list[Way] = []
    for acc in ((t.account,) if t.account is not None else ()) + t.also:
        def rows(tbl: pa.Table, c: str = acc) -> pa.Array:
            return pc.fill_null(pc.is_in(tbl[c], value_set=value_set), False)

        def counted(hit: pa.Table, c: str = acc) -> Counter[str]:
            return per_account(hit[c])
        out.append(Way([acc], rows, _dropping(rows), counted))
    if t.account is None and "raw" in t.raw:
        def text(tbl: pa.Table) -> pa.Array:
            return _rows_listing(pc.split_pattern_regex(pc.fill_null(tbl["raw"], ""), SEPARATORS), value_set)

        def raw_who(hit: pa.Table) -> Counter[str]:
            return Counter(a.decode() for raw in hit["raw"].to_pylist() for a in named_in(raw.encode(), wanted))
        out.append(Way(["raw"], text, _dropping(text), raw_who))
    for col in t.lists:
        def member(tbl: pa.Table, c: str = col) -> pa.Array:
            return _rows_listing(tbl[c], value_set)

        def drop(tbl: pa.Table, c: str = col) -> pa.Table:
            gone = set(accounts)
            lists = [None if v is None else [x for x in v if x not in gone] for v in tbl[c].to_pylist()]
            return tbl.set_column(tbl.schema.get_field_index(c), c, pa.array(lists, tbl.schema.field(c).type))

        def listed(hit: pa.Table, c: str = col) -> Counter[str]:
            flat = pc.list_flatten(hit[c])
            return per_account(flat.filter(pc.fill_null(pc.is_in(flat, value_set=value_set), False)))
        out.append(Way([col], member, drop, listed))
    return out


def _tables(settings: Settings, outs: dict[str, Erasure], purge: bool, fail_after: int | None) -> None:
    for i, t in enumerate(TABLES):
        if fail_after is not None and i >= fail_after:
            raise RuntimeError(f"injected failure before {t.key}")
        ways = _ways(t, list(outs))
        if not ways or not deltars.exists(settings, t.layer, t.name):
            continue
        removed = Counter[str]()
        for w in ways:
            removed += w.who(deltars.rewrite(settings, t.layer, t.name, w.columns, w.match, w.fix))
        for account, out in outs.items():
            out.tables[t.key] = out.tables.get(t.key, 0) + removed[account]
        if purge:
            deltars.housekeep(settings, t.layer, t.name, vacuum_hours=0, log_days=settings.retention.log_days)
            deltars.trim_log(settings, t.layer, t.name, settings.retention.log_days)


def _files(settings: Settings, outs: dict[str, Erasure], batch: str) -> None:
    import pyarrow as pa

    ingested = ingested_hashes(settings)
    accounts = list(outs)
    for folder in FOLDERS:
        root = folder.root(settings)
        if not root.is_dir():
            continue
        removed, rewritten = Counter[str](), Counter[str]()
        if folder.name == "online":
            for snap in sorted(p for p in (root / "snapshots").glob("*") if p.is_dir()):
                n = forget_in_snapshot(snap, accounts)
                removed += n
                rewritten.update({a: 2 for a in n})  # its files and the manifest
        else:
            for f in data_files(root):
                rewrite = forget_in_file(f, accounts)
                if not rewrite.removed:
                    continue
                removed += rewrite.removed
                rewritten.update(rewrite.removed.keys())
                if folder.name == "spool" and rewrite.before in ingested:
                    # the new content stands for what was ingested: never again
                    deltars.write(settings, "bronze", LEDGER, pa.table({
                        "sha256": [sha256(f)], "path": [str(f)], "_ingest_id": [f"forget:{batch[:12]}"],
                        "_ingested_at": pa.array([datetime.now(UTC)], pa.timestamp("us", "UTC"))}), schema_mode="merge")
        for account, out in outs.items():
            out.files[folder.name] = out.files.get(folder.name, 0) + removed[account]
            out.files_rewritten += rewritten[account]


def _redis(settings: Settings, accounts: list[str], url: str | None) -> dict[str, dict[str, int]] | None:
    if url is None and settings.serving.store != "redis":
        return None
    import redis

    from ato.privacy.forget_redis import forget_in_redis

    client = redis.Redis.from_url(url or settings.serving.redis_url)
    try:
        return forget_in_redis(client, accounts, settings.speed.erasure_grace_s)
    finally:
        client.close()


def forget(settings: Settings, account: str, reason: str = "erasure request", purge: bool = False,
           redis_url: str | None = None, progress: Progress | None = None,
           _fail_after_tables: int | None = None) -> Erasure:
    """Erase one account everywhere (module docstring); its erasure record."""
    return forget_many(settings, [account], reason, purge, redis_url, progress, _fail_after_tables)[0]


def forget_many(settings: Settings, accounts: Sequence[str], reason: str = "erasure request", purge: bool = False,
                redis_url: str | None = None, progress: Progress | None = None,
                _fail_after_tables: int | None = None) -> list[Erasure]:
    """Erase `accounts` everywhere in one pass over each store (module docstring), holding the
    lake's writer lock; one erasure record per account, in the order given (repeats once)."""
    from ato.lake_lock import writer_lock

    accounts = list(dict.fromkeys(check_account(a) for a in accounts))
    if not accounts:
        raise ValueError("no account to erase")
    with writer_lock(settings.paths.lake_root, "ato forget", settings.batch.lock_wait_s):
        return _forget(settings, accounts, reason, purge, redis_url, progress, _fail_after_tables)


def _forget(settings: Settings, accounts: list[str], reason: str, purge: bool, redis_url: str | None,
            progress: Progress | None, _fail_after_tables: int | None) -> list[Erasure]:
    from ato.progress import Progress

    progress = progress or Progress()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    subjects = {a: subject(settings, a) for a in accounts}
    batch = hashlib.sha256("\n".join(sorted(subjects.values())).encode()).hexdigest()[:32]
    outs = {a: Erasure(sid, reason, now, purged=purge, batch=batch, batch_size=len(accounts))
            for a, sid in subjects.items()}
    marks = erasure_folder(settings) / PENDING
    marks.mkdir(parents=True, exist_ok=True)
    for sid in subjects.values():
        (marks / sid).write_text(json.dumps({"subject": sid, "reason": reason, "started_at": now, "batch": batch}))
    with progress.step("forget: Redis (snapshot rows, speed layer)"):
        redis = _redis(settings, accounts, redis_url)
        for account, out in outs.items():
            out.redis = None if redis is None else redis[account]
    with progress.step(f"forget: {len(TABLES)} lake tables"):
        _tables(settings, outs, purge, _fail_after_tables)
    with progress.step("forget: spool, audit and snapshot files"):
        _files(settings, outs, batch)
    done = datetime.now(UTC).isoformat(timespec="seconds")
    with (erasure_folder(settings) / RECORDS).open("a") as f:
        for out in outs.values():
            out.finished_at = done
            f.write(json.dumps(out.as_dict()) + "\n")
    for sid in subjects.values():
        (marks / sid).unlink()
    rows = sum(sum(o.tables.values()) for o in outs.values())
    lines = sum(sum(o.files.values()) for o in outs.values())
    progress.info(f"forget batch {batch[:12]} ({len(accounts)} accounts): {rows} rows from the lake tables, "
                  f"{lines} lines or rows from files" + (f", Redis {_redis_total(redis)}" if redis is not None else ""))
    return list(outs.values())


def _redis_total(per: dict[str, dict[str, int]]) -> dict[str, int]:
    return dict(sum((Counter(v) for v in per.values()), Counter[str]()))


def pending(settings: Settings) -> list[str]:
    """Subjects (hashes) of erasures that started and did not finish."""
    folder = erasure_folder(settings) / PENDING
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
