"""`ato forget` on the small world the batch layer built (the lake of the 7-day backfill, its spool
with JSON lines, CSV and Parquet, audit files as the API writes them, a published snapshot, and a
real Redis holding the snapshot and speed-layer keys): afterwards no file under the lake, spool,
audit or snapshot folders (Parquet decoded, text read) and no Redis key or member holds the
account id or one of its own raw IPs or device ids; every other account's rows are unchanged;
a second run and a run after a crash injected part-way end in the same state."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ato import deltars
from ato.privacy.forget import forget, pending
from ato.privacy.stores import TABLES
from ato.settings import Settings
from tests.conftest import make_settings

pytestmark = pytest.mark.spark
DAY = date(2026, 8, 7)


def _world(backfilled: tuple[Settings, Any], small_world: tuple[Path, Path, Any], root: Path) -> Settings:
    from ato.decisions import load_decisions
    from ato.online.snapshot.files import publish

    src, _ = backfilled
    spool, world, _ = small_world
    shutil.copytree(src.paths.lake_root, root / "lake")
    shutil.copytree(spool, root / "spool")
    s = make_settings(root, geo_db=world / "ip_geo.csv", ATO_SPOOL=str(root / "spool"),
                      ATO_ONLINE_DIR=str(root / "online"), ATO_SERVING__AUDIT_DIR=str(root / "audit"),
                      ATO_BATCH__LABEL_MATURITY_DAYS="1")
    logins = deltars.read_dates(s, "silver", "logins", "event_date", DAY, DAY).to_pandas()
    audit = root / "audit" / DAY.isoformat() / "decisions-host-1.jsonl"  # as the API writes it
    audit.parent.mkdir(parents=True)
    audit.write_text("".join(json.dumps({
        "decision_id": f"d{i}", "event_id": r.event_id, "decided_at": r.event_time.isoformat(),
        "event_time": r.event_time.isoformat(), "account_id": r.account_id, "ip_hash": r.ip_hash,
        "device_hash": r.device_hash, "action": "allow", "risk_score": 0.01, "reasons": [], "fallback_level": 0,
        "model_version": "v", "features": {"new_device": 0}}) + "\n" for i, r in enumerate(logins.itertuples())))
    load_decisions(s, DAY)
    publish(s, DAY)
    return s


def _victim(s: Settings) -> tuple[str, set[str]]:
    """The most active account whose raw IPs and device ids no other account used, and those."""
    b = deltars.read(s, "bronze", "logins", ["account_id", "ip", "device_id"]).to_pandas()
    owners = pd.concat([b[["account_id", "ip"]].rename(columns={"ip": "v"}),
                        b[["account_id", "device_id"]].rename(columns={"device_id": "v"})]).dropna().drop_duplicates()
    shared = set(owners.loc[owners.duplicated("v", keep=False), "account_id"])
    account = b[~b["account_id"].isin(shared)]["account_id"].value_counts().index[0]
    return str(account), set(owners.loc[owners["account_id"] == account, "v"])


def _cell(v: Any) -> str:
    if isinstance(v, list | tuple):
        return json.dumps(sorted(str(x) for x in v))
    return str(v)


def _tables_state(s: Settings, drop: str | None = None) -> dict[str, str]:
    """Order-independent content hash per table (rows of `drop` left out and `drop` taken out of
    account sets: what every other account's rows must still be)."""
    out = {}
    for t in TABLES:
        if not deltars.exists(s, t.layer, t.name) or t.name == "_ingest_log":
            continue
        tbl = deltars.read(s, t.layer, t.name)
        if drop is not None and t.account:
            tbl = tbl.filter(pc.invert(pc.fill_null(pc.equal(tbl[t.account], drop), False)))
        df = tbl.to_pandas()
        for col in t.lists:
            df[col] = [None if v is None else [x for x in v if x != drop] for v in df[col]]
        if drop is not None and "raw" in t.raw:
            df = df[~df["raw"].str.contains(drop, regex=False)]
        cells = [df[c].map(_cell) if df[c].dtype == object else df[c].astype(str) for c in df.columns]
        rows = sorted(cells[0].str.cat(cells[1:], sep="\x1f") if len(cells) > 1 else cells[0])
        out[t.key] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def _files_state(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for d in ("spool", "audit", "online") for p in sorted((root / d).rglob("*")) if p.is_file()}


def _scan(root: Path, needles: set[str]) -> list[str]:
    hits = []
    for d in ("lake", "spool", "audit", "online"):
        for p in (root / d).rglob("*"):
            if not p.is_file():
                continue
            if p.suffix == ".parquet":
                t = pq.read_table(p)
                text = " ".join(str(v) for c in t.columns for v in c.to_pylist())
            else:
                text = p.read_text(errors="ignore")
            hits += [f"{p}: {n}" for n in needles if n in text]
    return hits


def _redis_with_the_account(r: Any, url: str, s: Settings, account: str, other: str) -> None:
    from ato.online.decide.redis_windows import key_prefix, member
    from ato.online.snapshot.redis import publish_to_redis

    publish_to_redis(s, url=url)
    r.zadd(f"{key_prefix('a', account)}:t", {"e1": 1})
    r.hset(f"{key_prefix('a', account)}:r:20672", "last", "{}")
    for who, eid in ((account, "e1"), (other, "e2")):
        r.zadd(f"{key_prefix('i', 'iphash')}:t", {member("i", eid, who): 1})
        r.zadd(f"{key_prefix('i', 'iphash')}:c", {who: 1})


def test_forget_erases_one_account_everywhere_and_nothing_else(
        backfilled: tuple[Settings, Any], small_world: tuple[Path, Path, Any], tmp_path: Path) -> None:
    from tests.serving.conftest import start_redis, stop

    s = _world(backfilled, small_world, tmp_path / "a")
    account, raw = _victim(s)
    assert raw and account in (tmp_path / "a" / "audit" / DAY.isoformat() / "decisions-host-1.jsonl").read_text()
    assert _scan(tmp_path / "a", {account}), "the account is everywhere before"
    others = _tables_state(s, drop=account)
    import redis

    server = start_redis(tmp_path / "redis")
    try:
        url, r = server.url, redis.Redis.from_url(server.url)
        other = "acct_not_erased"
        _redis_with_the_account(r, url, s, account, other)
        assert any(account in k.decode() for k in r.scan_iter("*"))
        done = forget(s, account, "test", purge=True, redis_url=url)
        assert not [k for k in r.scan_iter("*") if account in k.decode()], "no Redis key names it"
        assert r.zrange("ato:w:{i:iphash}:c", 0, -1) == [other.encode()]
        members: list[bytes] = list(r.zrange("ato:w:{i:iphash}:t", 0, -1))  # type: ignore[arg-type]
        assert [m for m in members if m.endswith(other.encode())]
        assert len(r.zrange("ato:w:{i:iphash}:t", 0, -1)) == 1 and done.redis and done.redis["keys"] >= 3
    finally:
        stop(server.proc)
    assert not _scan(tmp_path / "a", {account, *raw}), "nothing in any file holds the id or its raw identifiers"
    assert _tables_state(s) == others, "every other account's rows unchanged"
    assert done.tables["bronze/logins"] > 0 and done.tables["gold/training_set"] > 0 and done.files["spool"] > 0
    record = (tmp_path / "a" / "lake" / "_erasure" / "erasures.jsonl").read_text()
    assert account not in record and done.subject in record and not pending(s)

    after = (_tables_state(s), _files_state(tmp_path / "a"))
    again = forget(s, account, "test", purge=True)  # idempotent: nothing left to remove
    assert sum(again.tables.values()) == sum(again.files.values()) == 0
    assert (_tables_state(s), _files_state(tmp_path / "a")) == after

    crashed = _world(backfilled, small_world, tmp_path / "b")  # a crash part-way, then the same command
    with pytest.raises(RuntimeError, match="injected failure"):
        forget(crashed, account, "test", purge=True, _fail_after_tables=9)
    assert pending(crashed) == [done.subject]
    forget(crashed, account, "test", purge=True)
    assert not pending(crashed)
    assert _tables_state(crashed) == after[0]
    b_files = _files_state(tmp_path / "b")
    assert {k: v for k, v in b_files.items()} == after[1]
