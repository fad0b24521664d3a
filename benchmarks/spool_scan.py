"""Benchmark: the nightly ingest's spool scan with and without the hash memo (no JVM).

Writes a spool of `--days` daily login files of `--mb-per-day` MB, then times `discover`:
1. the first scan (no memo: every file read and hashed, as every night did before the memo),
2. the next night's scan after one more day arrived (the memo: only the new day is read),
3. the same scan with the memo removed first (what that night cost without it).
`--drop-caches` (root) empties the page cache before each timed scan, so reads come from disk
as they would after a day of other work; without it the files are still in memory and only the
hashing is measured. Usage:
    .venv/bin/python benchmarks/spool_scan.py [--days 30] [--mb-per-day 64] [--drop-caches] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path


def write_day(spool: Path, day: date, mb: int) -> None:
    """One day's login file of about `mb` MB (JSON lines shaped like the logins contract)."""
    path = spool / "logins" / f"{day.isoformat()}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {"event_id": "", "account_id": "acct_00000001", "event_time": f"{day}T12:00:00Z",
            "ip": "203.0.113.7", "device_id": "dev_0000000001", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "success": True, "mfa_used": False, "failure_reason": None}
    block = []
    for i in range((1 << 20) // (len(json.dumps(line)) + 30)):  # 1 MB of lines, written `mb` times
        line["event_id"] = f"{day:%Y%m%d}-{i:012d}"
        block.append(json.dumps(line) + "\n")
    data = "".join(block).encode()
    with path.open("wb") as f:
        for _ in range(mb):
            f.write(data)


def drop_caches() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def timed_scan(spool: Path, drop: bool) -> tuple[float, int, int]:
    from ato.ingest.discover import discover

    if drop:
        drop_caches()
    t = time.perf_counter()
    files = discover(spool, settle_s=0)
    s = time.perf_counter() - t
    read = [f for f in files if not f.known]
    return s, len(read), sum(f.size for f in read)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=30, help="days of files already in the spool")
    p.add_argument("--mb-per-day", type=int, default=64)
    p.add_argument("--drop-caches", action="store_true", help="read from disk: empty the page cache first (root)")
    p.add_argument("--keep", type=Path, help="work folder to keep (default: a temp folder, removed)")
    args = p.parse_args()
    from ato.ingest.hash_memo import MEMO

    work = args.keep or Path(tempfile.mkdtemp(prefix="ato-bench-spool-"))
    spool, start = work / "spool", date(2026, 8, 1)
    t = time.perf_counter()
    for i in range(args.days):
        write_day(spool, start + timedelta(days=i), args.mb_per_day)
    print(f"wrote {args.days} days x {args.mb_per_day} MB in {time.perf_counter() - t:.1f} s under {spool}")
    full_s, full_n, full_b = timed_scan(spool, args.drop_caches)
    write_day(spool, start + timedelta(days=args.days), args.mb_per_day)
    memo_s, memo_n, memo_b = timed_scan(spool, args.drop_caches)
    (spool / MEMO).unlink()
    none_s, none_n, none_b = timed_scan(spool, args.drop_caches)
    where = "from disk (page cache dropped)" if args.drop_caches else "from the page cache (hashing only)"
    print(f"\nspool scans, files read {where}:")
    print(f"  first scan, no memo:            {full_s:7.2f} s  {full_n:3d} files read  {full_b / 1e6:9,.0f} MB"
          f"  {full_b / 1e6 / full_s:7,.0f} MB/s")
    print(f"  next night, memo:               {memo_s:7.2f} s  {memo_n:3d} files read  {memo_b / 1e6:9,.0f} MB")
    print(f"  next night, memo removed first: {none_s:7.2f} s  {none_n:3d} files read  {none_b / 1e6:9,.0f} MB")
    print(f"ratio next night without / with the memo: {none_s / memo_s:.1f}x")
    gb_s = none_b / 1e9 / none_s
    print(f"at {gb_s:.2f} GB/s, a 30-day spool of 5 GB a day (about 10 M logins a night) costs "
          f"{150 / gb_s / 60:.1f} min a night without the memo, {5 / gb_s / 60:.1f} min with it")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
