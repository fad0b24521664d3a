"""Benchmark: how long the API's appends wait while `ato forget` rewrites the file they go to (no JVM).

Writes an open audit file of `--lines` decision-sized lines (about 0.6 KB each, every 100th naming
the erased account) through `JsonlAppender`, then times appends at `--rate` a second (as the API
writes decisions) while another process (`ato forget` is one) erases the account from that file,
against the same appends with no erasure running. Prints the appends' p50/p99/max in each case, the
erasure's seconds, and checks that every line appended is in the file afterwards and none of the
erased account's is. Usage:
    .venv/bin/python benchmarks/forget_open_file.py [--lines 100000] [--rate 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

GONE, KEPT = "acct_0000042", "acct_0000007"
NOW = datetime(2026, 8, 6, 12, tzinfo=UTC)


def line(account: str, tag: str, i: int) -> bytes:
    vector = {f"f{j}": 0.001 * (i + j) for j in range(40)}  # a decision's feature vector, about 1 KB
    return (json.dumps({"decision_id": f"{tag}-{i}", "account_id": account, "features": vector},
                       separators=(",", ":")) + "\n").encode()


def timed_appends(writer: object, tag: str, rate: float, until: Callable[[], bool]) -> list[float]:
    """Appends at `rate` a second until `until()`; each one's seconds."""
    out: list[float] = []
    start = time.perf_counter()
    while not until():
        t = time.perf_counter()
        writer.append(line(KEPT, tag, len(out)), now=NOW)  # type: ignore[attr-defined]
        out.append(time.perf_counter() - t)
        time.sleep(max(0.0, start + len(out) / rate - time.perf_counter()))
    return out


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    return (f"{name:<22} appends {len(ms):>6}  p50 {statistics.median(ms):7.3f} ms  "
            f"p99 {ms[int(0.99 * (len(ms) - 1))]:7.3f} ms  max {ms[-1]:8.3f} ms")


def main() -> None:
    from ato.online.decide.appender import OPEN, JsonlAppender

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=1000.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        writer = JsonlAppender(d, "decisions", close_idle_s=3600)
        for i in range(args.lines):
            writer.append(line(GONE if i % 100 == 0 else KEPT, "seed", i), now=NOW)
        [path] = Path(d).rglob(f"{OPEN}*.jsonl")
        print(f"open file: {args.lines:,} lines, {path.stat().st_size / 1e6:.1f} MB")
        end = time.perf_counter() + 3
        quiet = timed_appends(writer, "quiet", args.rate, lambda: time.perf_counter() > end)
        code = ("import sys; from pathlib import Path; from ato.privacy.forget_files import forget_in_file; "
                "print(forget_in_file(Path(sys.argv[1]), [sys.argv[2]]).removed[sys.argv[2]])")
        t = time.perf_counter()
        erasure = subprocess.Popen([sys.executable, "-c", code, str(path), GONE], stdout=subprocess.PIPE, text=True)
        during = timed_appends(writer, "busy", args.rate, lambda: erasure.poll() is not None)
        erase_s = time.perf_counter() - t
        removed = int(erasure.communicate()[0])
        writer.close()
        [closed] = Path(d).rglob("*.jsonl")
        text = closed.read_bytes()
        ids = [json.loads(x)["decision_id"] for x in text.splitlines()]
    print(f"erasure (another process): {removed:,} lines removed in {erase_s:.2f} s")
    print(summary("appends, no erasure", quiet))
    print(summary("appends during it", during))
    lost = {f"{tag}-{i}" for tag, n in (("quiet", len(quiet)), ("busy", len(during))) for i in range(n)} - set(ids)
    print(f"check: {len(lost)} appended lines lost, {'some' if GONE.encode() in text else 'no'} erased lines left")
    if lost or GONE.encode() in text:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
