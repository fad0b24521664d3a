"""Benchmark: simulator and ingest throughput for about 1 M login events.

Prints events per second for `ato simulate` and for `ato ingest` (spool -> bronze ->
silver, GE checks included) on this machine. Usage:
    .venv/bin/python benchmarks/ingest.py [--logins 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--logins", type=int, default=1_000_000, help="target number of login events")
    p.add_argument("--days", type=int, default=45)
    p.add_argument("--keep", type=Path, help="work folder to keep (default: a temp folder, removed)")
    args = p.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    from ato.progress import ConsoleProgress
    from ato.settings import load_settings
    from ato.simulator.config import load_simulator_config
    from ato.simulator.run import simulate
    from ato.spark.ingest import ingest
    from ato.spark.session import get_spark

    work = args.keep or Path(tempfile.mkdtemp(prefix="ato-bench-"))
    accounts = int(args.logins / (1.63 * args.days))  # ~1.63 logins per account-day at default rates
    cfg = load_simulator_config(accounts=accounts, days=args.days)
    t = time.perf_counter()
    sim = simulate(cfg, work / "spool", work / "world", ConsoleProgress())
    sim_s = time.perf_counter() - t
    total = sum(sim.rows.values())
    env = {"ATO_LAKE_ROOT": str(work / "lake"), "ATO_ENRICH__GEO_DB": str(work / "world" / "ip_geo.csv")}
    settings = load_settings(environ={**os.environ, **env})
    spark = get_spark(settings, "ato-bench", job="ingest")
    t = time.perf_counter()
    summary = ingest(spark, settings, work / "spool", ConsoleProgress())
    ing_s = time.perf_counter() - t
    logins = sim.rows["logins"]
    print(f"\nworld: {accounts:,} accounts x {args.days} days; {logins:,} login events, {total:,} events in all")
    print(f"simulate: {sim_s:8.1f} s  {logins / sim_s:12,.0f} login events/s  {total / sim_s:12,.0f} events/s")
    print(f"ingest:   {ing_s:8.1f} s  {logins / ing_s:12,.0f} login events/s  {total / ing_s:12,.0f} events/s"
          f"  (spark master {settings.spark.master}, bronze+quarantine+silver, GE on)")
    print(f"ratio ingest/simulate time: {ing_s / sim_s:.1f}x; quarantined rows: {sum(summary.quarantined.values())}")
    spark.stop()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
