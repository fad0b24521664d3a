"""Benchmark: a night's aggregates step writing its Delta tables one after another against
`spark.write_threads` at a time (`ato.spark.lake.together`), in one warm Spark session.

Copies the lake (default: the settings' lake, the one `make demo` builds) under `--work`, then
runs the aggregates step (the latest days' partials of the three entities, the three 30-day
snapshots) for its last snapshot date, alternating 1 thread and `--threads`, `--rounds` times
each after one warm-up run. Prints each run's seconds, the medians and their ratio, and whether
every run left the same rows in the six tables it rewrites (a digest of their sorted rows).
Usage: .venv/bin/python benchmarks/together.py [--rounds 3] [--threads 3] [--work DIR] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import time
from pathlib import Path
from typing import Any


def digest(spark: Any, settings: Any, day: Any) -> str:
    """The sorted rows the step rewrote: partials of its last two days, snapshots of `day`."""
    from datetime import timedelta

    from ato.spark import lake
    from ato.tables import PARTIAL_TABLES, SNAPSHOT_TABLES

    h = hashlib.sha256()
    parts = [(t, lake.in_dates("event_date", [day - timedelta(days=1), day])) for t in PARTIAL_TABLES.values()]
    snaps = [(t, lake.in_dates("as_of_date", [day])) for t in SNAPSHOT_TABLES.values()]
    for table, where in parts + snaps:
        df = lake.read(spark, settings.table_path("gold", table)).where(where)
        for line in sorted(df.toJSON().collect()):
            h.update(line.encode())
    return h.hexdigest()[:16]


def main() -> None:
    from ato import deltars
    from ato.nightly import run_nightly
    from ato.settings import load_settings
    from ato.spark.session import get_spark
    from ato.tables import SNAPSHOT_TABLES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/ato-together-bench"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    base = load_settings()
    shutil.rmtree(args.work, ignore_errors=True)
    print(f"copying {base.paths.lake_root} to {args.work} ...", flush=True)
    shutil.copytree(base.paths.lake_root, args.work / "lake")
    env = {"ATO_LAKE_ROOT": str(args.work / "lake"), "ATO_HMAC_KEY": base.privacy.hmac_key}
    runs = {n: load_settings(environ={**env, "ATO_SPARK__WRITE_THREADS": str(n)}) for n in (1, args.threads)}
    day = deltars.partition_dates(runs[1], "gold", SNAPSHOT_TABLES["account"], "as_of_date")[-1]
    spark = get_spark(runs[1], "together-bench")
    seconds: dict[int, list[float]] = {n: [] for n in runs}
    digests = set()
    try:
        for i in range(args.rounds + 1):
            for n, settings in runs.items():
                t = time.perf_counter()
                run_nightly(settings, [day], ("aggregates",), spark_factory=lambda: spark)
                took = time.perf_counter() - t
                digests.add(digest(spark, settings, day))
                print(f"{'warm-up' if i == 0 else f'round {i}'}: {n} thread(s) {took:6.1f} s", flush=True)
                if i:
                    seconds[n].append(took)
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
    one, many = statistics.median(seconds[1]), statistics.median(seconds[args.threads])
    print(f"aggregates for {day}: median {one:.1f} s one after another, {many:.1f} s with {args.threads} threads: "
          f"{one / many:.2f}x; same rows every run: {len(digests) == 1}")


if __name__ == "__main__":
    main()
