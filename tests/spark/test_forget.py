"""`ato forget` on the small world the batch layer built (the lake of the 7-day backfill, its spool
with JSON lines, CSV and Parquet, audit files as the API writes them, a published snapshot, and a
real Redis holding the snapshot and speed-layer keys): afterwards no file under the lake, spool,
audit or snapshot folders (Parquet decoded, text read) and no Redis key or member holds the
account id or one of its own raw IPs or device ids; every other account's rows are unchanged;
a second run and a run after a crash injected part-way end in the same state. A batch of
accounts, one of them already erased, counts each account's rows and, crashed part-way and run
again, ends where erasing them one after the other does."""

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
from ato.privacy.forget import forget, forget_many, pending, subject
from ato.privacy.stores import TABLES
from ato.settings import Settings
from tests.conftest import make_settings
from tests.digest import frame_digest

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


def _victims(s: Settings, n: int) -> list[tuple[str, set[str]]]:
    """The `n` most active accounts whose raw IPs and device ids no other account used, and those."""
    b = deltars.read(s, "bronze", "logins", ["account_id", "ip", "device_id"]).to_pandas()
    owners = pd.concat([b[["account_id", "ip"]].rename(columns={"ip": "v"}),
                        b[["account_id", "device_id"]].rename(columns={"device_id": "v"})]).dropna().drop_duplicates()
    shared = set(owners.loc[owners.duplicated("v", keep=False), "account_id"])
    top = b[~b["account_id"].isin(shared)]["account_id"].value_counts().index[:n]
    return [(str(a), set(owners.loc[owners["account_id"] == a, "v"])) for a in top]


def _tables_state(s: Settings, drop: set[str] | None = None) -> dict[str, tuple[int, str]]:
    """Order-independent content hash per table (rows of the `drop` accounts left out and they taken
    out of account sets: what every other account's rows must still be)."""
    import pyarrow as pa

    out = {}
    for t in TABLES:
        if not deltars.exists(s, t.layer, t.name) or t.name == "_ingest_log":
            continue
        tbl = deltars.read(s, t.layer, t.name)
        if drop is not None and t.account:
            tbl = tbl.filter(pc.invert(pc.fill_null(pc.is_in(tbl[t.account], value_set=pa.array(sorted(drop))), False)))
        df = tbl.to_pandas()
        for col in t.lists:
            df[col] = [None if v is None else [x for x in v if x not in (drop or ())] for v in df[col]]
        if drop is not None and "raw" in t.raw:
            df = df[~df["raw"].map(lambda raw: any(a in raw for a in drop))]
        out[t.key] = frame_digest(df, tbl.schema, sets=t.lists)
    return out


def _files_state(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for d in ("spool", "audit", "online") for p in sorted((root / d).rglob("*")) if p.is_file()}


def _scan(root: Path, needles: set[str], folders: tuple[str, ...] = ("lake", "spool", "audit", "online")) -> list[str]:
    hits = []
    for d in folders:
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


def test_forget_erases_accounts_everywhere_and_nothing_else_alone_or_in_a_batch(
        backfilled: tuple[Settings, Any], small_world: tuple[Path, Path, Any], tmp_path: Path) -> None:
    from tests.serving.conftest import start_redis, stop

    s = _world(backfilled, small_world, tmp_path / "a")
    (account, raw), *batch = _victims(s, 3)
    more = [a for a, _ in batch]
    assert raw and account in (tmp_path / "a" / "audit" / DAY.isoformat() / "decisions-host-1.jsonl").read_text()
    assert _scan(tmp_path / "a", {account}), "the account is everywhere before"
    others = _tables_state(s, drop={account})
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
        assert not _scan(tmp_path / "a", {account, *raw}), "nothing in any file holds the id or its raw identifiers"
        assert _tables_state(s) == others, "every other account's rows unchanged"
        assert done.tables["bronze/logins"] > 0 and done.tables["gold/training_set"] > 0 and done.files["spool"] > 0
        record = (tmp_path / "a" / "lake" / "_erasure" / "erasures.jsonl").read_text()
        assert account not in record and done.subject in record and not pending(s)

        after = (_tables_state(s), _files_state(tmp_path / "a"))
        again = forget(s, account, "test", purge=True)  # idempotent: nothing left to remove
        assert sum(again.tables.values()) == sum(again.files.values()) == 0
        assert (_tables_state(s), _files_state(tmp_path / "a")) == after

        # a batch: two more accounts and the one already erased, each counted on its own
        _redis_with_the_account(r, url, s, more[0], other)
        rest = _tables_state(s, drop=set(more))
        logins = deltars.read(s, "bronze", "logins", ["account_id"]).to_pandas()["account_id"].value_counts()
        many = forget_many(s, [*more, account], "batch", redis_url=url)  # purge: tested above
        assert not [k for k in r.scan_iter("*") if any(a in k.decode() for a in more)]
    finally:
        stop(server.proc)
    assert [e.subject for e in many] == [subject(s, a) for a in [*more, account]]
    assert {e.batch for e in many} == {many[0].batch} and {(e.batch_size, e.purged) for e in many} == {(3, False)}
    assert [e.tables["bronze/logins"] for e in many] == [int(logins[more[0]]), int(logins[more[1]]), 0]
    assert many[0].redis and many[0].redis["keys"] >= 3 and many[2].redis == {"keys": 0, "members": 0}
    assert sum(many[2].tables.values()) == sum(many[2].files.values()) == 0 and many[1].files["spool"] > 0
    # without --purge the lake keeps the replaced files for time travel: its tables are checked instead
    assert not _scan(tmp_path / "a", {a for a, _ in batch} | set().union(*(v for _, v in batch)), ("spool", "audit", "online"))
    assert _tables_state(s) == rest, "the accounts' rows gone, every other account's rows unchanged"
    record = (tmp_path / "a" / "lake" / "_erasure" / "erasures.jsonl").read_text()
    assert not [a for a in more if a in record] and all(e.subject in record for e in many)
    after = (_tables_state(s), _files_state(tmp_path / "a"))

    crashed = _world(backfilled, small_world, tmp_path / "b")  # the three in one batch, crashed part-way, run again
    with pytest.raises(RuntimeError, match="injected failure"):
        forget_many(crashed, [account, *more], "test", purge=True, _fail_after_tables=9)
    assert pending(crashed) == sorted(subject(s, a) for a in [account, *more])
    forget_many(crashed, [account, *more], "test", purge=True)
    assert not pending(crashed)
    assert _tables_state(crashed) == after[0], "the batch leaves the tables as the single erasures did"
    assert _files_state(tmp_path / "b") == after[1], "and the files"
