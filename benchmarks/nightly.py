"""Benchmark: the nightly batch steps on ~1 M and ~10 M simulated login events.

Base world: the lake `benchmarks/ingest.py --keep DIR` leaves (simulated, ingested). The
10x world copies its silver tables ten times over as disjoint populations (account ids
suffixed, IP/device hashes re-keyed per copy), so it has the same shape at ten times the
volume. For each scale it prints wall time per stage of:

- the first night on a history with no gold tables yet (`ato nightly --date <last day>`
  minus ingest): partials for every day the windows need, i.e. every event;
- a regular night `batch.rebuild_partials_days` (2) days later (that many days of new partials,
  action states folded on from the first night's);
- at the `--backfill-scales`, a full backfill `ato nightly --from <first> --to <last>`
  (every event through partials, all snapshots, the whole training set, the gates);
- the same 30-day account/IP/device aggregates as of the last day in DuckDB straight over
  silver, vs our Spark step from silver (cold: partials + rollup + Delta writes), from
  partials (warm), and vs Spark running DuckDB's very SQL (engine against engine).

Usage: .venv/bin/python benchmarks/nightly.py --base DIR [--scales 1,10] [--work DIR]
Ingest is not in these numbers: benchmarks/ingest.py measures it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path
from typing import Any

STREAMS = ("logins", "sessions", "payments", "account_changes", "labels")
SUFFIXED = ("account_id", "event_id", "session_id", "login_event_id")
REKEYED = ("ip_hash", "ip_prefix_hash", "device_hash")
# the timing key of the second night, batch.rebuild_partials_days after the first (the label holds for any setting)
REGULAR = "regular night (rebuild_partials_days later)"


def scale_silver(spark: Any, src_root: str, dst_root: str, copies: int) -> int:
    """Write `copies` disjoint copies of the silver tables; returns login rows written."""
    from pyspark.sql import functions as F

    for stream in STREAMS:
        df = spark.read.format("delta").load(f"{src_root}/silver/{stream}")
        reps = spark.range(copies).withColumnRenamed("id", "_copy")
        out = df.crossJoin(F.broadcast(reps))
        tag = F.concat(F.lit("~"), F.col("_copy").cast("string"))
        for c in SUFFIXED:
            if c in df.columns:
                out = out.withColumn(c, F.when(F.col("_copy") == 0, F.col(c)).otherwise(F.concat(F.col(c), tag)))
        for c in REKEYED:
            if c in df.columns:
                out = out.withColumn(c, F.when(F.col("_copy") == 0, F.col(c))
                                     .otherwise(F.substring(F.sha2(F.concat(F.col(c), tag), 256), 1, 32)))
        out.drop("_copy").write.format("delta").mode("overwrite").partitionBy("event_date").save(f"{dst_root}/silver/{stream}")
    return int(spark.read.format("delta").load(f"{dst_root}/silver/logins").count())


def timed(label: str, fn: Any, times: dict[str, float]) -> Any:
    t = time.perf_counter()
    out = fn()
    times[label] = time.perf_counter() - t
    print(f"  {label:<46} {times[label]:8.1f} s", flush=True)
    return out


def _night(settings: Any, spark: Any, dates: list[Any], label: str, times: dict[str, float]) -> Any:
    from ato.nightly import run_nightly
    from ato.progress import ConsoleProgress

    steps = ("validate", "aggregates", "training", "gate", "publish")
    t = time.perf_counter()
    s = run_nightly(settings, dates, steps, progress=ConsoleProgress(), spark_factory=lambda: spark)
    times[label] = time.perf_counter() - t
    print(f"  {label}: " + ", ".join(f"{k} {v:.1f}s" for k, v in s.seconds.items())
          + f"; {s.training_rows:,} training rows; total {times[label]:.1f} s", flush=True)
    return s


def run_scale(spark: Any, settings: Any, logins: int, backfill: bool) -> dict[str, float]:
    from ato.aggregates_sql import account_sql, aggregates, entity_sql
    from ato.analyst import connect
    from ato.nightly import date_range
    from ato.spark import gold

    root = settings.paths.lake_root
    days = sorted(r[0] for r in spark.read.format("delta").load(f"{root}/silver/logins").select("event_date").distinct().collect())
    first, last = days[0], days[-1]
    times: dict[str, float] = {}
    shutil.rmtree(f"{root}/gold", ignore_errors=True)
    print(f"\n{logins:,} login events, {first} .. {last}")
    # Same aggregates: our Spark step cold (from silver) and warm (from partials), DuckDB, Spark on DuckDB's SQL.
    timed("spark aggregates as of last day, cold", lambda: (gold.build_partials_for(spark, settings, [last]),
                                                             gold.build_snapshots_for(spark, settings, [last])), times)
    timed("spark aggregates as of last day, warm", lambda: gold.build_snapshots_for(spark, settings, [last]), times)
    con = connect(root)
    timed("duckdb aggregates as of last day (from silver)", lambda: aggregates(con, last), times)
    spark.read.format("delta").load(f"{root}/silver/logins").createOrReplaceTempView("silver_logins")
    timed("spark sql, the same query as duckdb", lambda: [spark.sql(q).collect() for q in (
        account_sql(last), entity_sql("ip_hash", last), entity_sql("device_hash", last))], times)
    duck = times["duckdb aggregates as of last day (from silver)"]
    print(f"  ratio to duckdb: our step cold {times['spark aggregates as of last day, cold'] / duck:.2f}x, "
          f"warm {times['spark aggregates as of last day, warm'] / duck:.2f}x, "
          f"same SQL on spark {times['spark sql, the same query as duckdb'] / duck:.2f}x (target <= 3x)")
    # The first night on a history with no gold yet reads every event of the windows it needs; the
    # regular night batch.rebuild_partials_days (2) days later derives that many days of partials
    # and folds the action states on from the first night's (the late-event horizon).
    shutil.rmtree(f"{root}/gold", ignore_errors=True)
    shutil.rmtree(settings.online.snapshot_dir, ignore_errors=True)
    _night(settings, spark, [days[-1 - settings.batch.rebuild_partials_days]], "first night, no gold yet", times)
    _night(settings, spark, [last], REGULAR, times)
    if backfill:
        shutil.rmtree(f"{root}/gold", ignore_errors=True)
        s = _night(settings, spark, date_range(first, last), f"backfill of {len(days)} as-of dates", times)
        times["backfill"] = times[f"backfill of {len(days)} as-of dates"]
        print(f"  backfill: {s.training_rows / times['backfill']:,.0f} training rows/s, "
              f"{logins / times['backfill']:,.0f} logins/s end to end")
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", type=Path, required=True, help="folder kept by benchmarks/ingest.py --keep")
    p.add_argument("--scales", default="1,10", help="copies of the base world to run, e.g. 1,10")
    p.add_argument("--backfill-scales", default="1", help="scales that also run a full backfill (slow)")
    p.add_argument("--work", type=Path, help="where scaled lakes go (default: <base>/scaled)")
    args = p.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    from ato.settings import load_settings
    from ato.spark.session import get_spark

    base_lake = args.base / "lake"
    env = {**os.environ, "ATO_ENRICH__GEO_DB": str(args.base / "world" / "ip_geo.csv")}
    spark = get_spark(load_settings(environ=env), "ato-bench-nightly")
    results = {}
    for k in (int(x) for x in args.scales.split(",")):
        root = (args.work or args.base / "scaled") / f"x{k}"
        settings = load_settings(environ={**env, "ATO_LAKE_ROOT": str(root / "lake"), "ATO_ONLINE_DIR": str(root / "online")})
        t = time.perf_counter()
        if not (root / "lake" / "silver" / "logins").exists():
            n = scale_silver(spark, str(base_lake), str(root / "lake"), k)
            print(f"\nprepared {k}x silver: {n:,} logins in {time.perf_counter() - t:.0f} s (not part of the nightly)")
        n = spark.read.format("delta").load(str(root / "lake" / "silver" / "logins")).count()
        results[k] = (n, run_scale(spark, settings, n, str(k) in args.backfill_scales.split(",")))
    print("\nsummary (seconds)")
    for k, (n, tm) in results.items():
        duck = tm["duckdb aggregates as of last day (from silver)"]
        print(f"  {k:>2}x {n:>12,} logins: first night {tm['first night, no gold yet']:.0f}, regular night "
              f"{tm[REGULAR]:.0f}, backfill {tm.get('backfill', float('nan')):.0f}; "
              f"aggregates spark/duckdb cold {tm['spark aggregates as of last day, cold'] / duck:.1f}x, "
              f"warm {tm['spark aggregates as of last day, warm'] / duck:.1f}x, "
              f"same SQL {tm['spark sql, the same query as duckdb'] / duck:.1f}x")
    spark.stop()


if __name__ == "__main__":
    main()
