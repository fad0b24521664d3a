"""Benchmark: `ato forget` of N accounts one at a time against the same N in one batch (no JVM).

Copies the demo's lake, spool, audit files and snapshots (`make demo` first; the settings' paths)
twice under `--work`, picks N accounts of the bronze logins (every k-th id, so busy and quiet ones),
then erases them one `forget` at a time in the first copy and with one `forget_many` in the second,
both without --purge (VACUUM costs the same either way). Prints each run's seconds, the ratio, and
whether both copies ended with the same row counts and files and the same counts per account. Usage:
    .venv/bin/python benchmarks/forget_batch.py [--accounts 5] [--work /tmp/ato-forget-bench] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import time
from pathlib import Path
from typing import Any


def copy_world(settings: Any, root: Path) -> Any:
    from ato.settings import load_settings

    root.mkdir(parents=True)
    paths = {"ATO_LAKE_ROOT": settings.paths.lake_root, "ATO_SPOOL": settings.paths.spool,
             "ATO_SERVING__AUDIT_DIR": settings.serving.audit_dir, "ATO_ONLINE_DIR": settings.online.snapshot_dir}
    env = {}
    for name, src in paths.items():
        dst = root / name.lower()
        if Path(src).is_dir():
            shutil.copytree(src, dst)
        env[name] = str(dst)
    return load_settings(environ={**env, "ATO_HMAC_KEY": settings.privacy.hmac_key})


def pick(settings: Any, n: int) -> list[str]:
    from ato import deltars

    ids = sorted(set(deltars.read(settings, "bronze", "logins", ["account_id"])["account_id"].to_pylist()))
    step = max(1, len(ids) // n)
    return ids[::step][:n]


def state(settings: Any) -> str:
    """One hash of every erasable table's row count and every spool, audit and snapshot file."""
    from ato import deltars
    from ato.privacy.forget_files import data_files
    from ato.privacy.stores import FOLDERS, TABLES

    h = hashlib.sha256()
    for t in TABLES:
        if t.name != "_ingest_log" and deltars.exists(settings, t.layer, t.name):
            h.update(f"{t.key} {deltars.dataset(settings, t.layer, t.name).count_rows()}\n".encode())
    for folder in FOLDERS:
        root = folder.root(settings)
        if root.is_dir():
            for f in data_files(root):
                h.update(str(f.relative_to(root)).encode() + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accounts", type=int, default=5)
    p.add_argument("--work", type=Path, default=Path("/tmp/ato-forget-bench"))
    p.add_argument("--keep", action="store_true", help="keep the two copies")
    a = p.parse_args()
    from ato.privacy.forget import forget, forget_many
    from ato.progress import Progress
    from ato.settings import load_settings

    settings = load_settings()
    shutil.rmtree(a.work, ignore_errors=True)
    t = time.perf_counter()
    one, many = copy_world(settings, a.work / "one"), copy_world(settings, a.work / "batch")
    accounts = pick(settings, a.accounts)
    print(f"copied the demo's stores twice in {time.perf_counter() - t:.0f} s; erasing {len(accounts)} accounts")
    progress = Progress()
    t = time.perf_counter()
    singles = []
    for i, account in enumerate(accounts, 1):
        s = time.perf_counter()
        singles.append(forget(one, account, "benchmark", progress=progress))
        print(f"  one at a time {i}/{len(accounts)}: {time.perf_counter() - s:.1f} s")
    t_one = time.perf_counter() - t
    t = time.perf_counter()
    batch = forget_many(many, accounts, "benchmark", progress=progress)
    t_many = time.perf_counter() - t
    counts = [(e.tables, e.files) for e in singles] == [(e.tables, e.files) for e in batch]
    same = state(one) == state(many)
    rows = sum(sum(e.tables.values()) for e in batch)
    print(f"\nforget {len(accounts)} accounts ({rows:,} lake rows): one at a time {t_one:.1f} s, "
          f"one batch {t_many:.1f} s, ratio {t_one / t_many:.2f}x")
    print(f"same counts per account: {'yes' if counts else 'NO'}; same row counts and files after: {'yes' if same else 'NO'}")
    if not a.keep:
        shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
