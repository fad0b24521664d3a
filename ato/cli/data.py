"""`ato simulate`, `ato ingest`, `ato sql`: make events, land them in the lake, query it."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ato.cli.output import Refused, add_json, emit, progress, wants_json
from ato.settings import Settings, load_settings


def _simulate(args: argparse.Namespace) -> int:
    from ato.simulator.config import load_simulator_config
    from ato.simulator.run import simulate

    settings = load_settings()
    cfg = load_simulator_config(args.config, accounts=args.accounts, days=args.days, seed=args.seed, start=args.start)
    if args.trainable:
        _check_trainable(settings, cfg.days)
    out = Path(args.out or settings.paths.spool)
    world = Path(args.world or settings.paths.world)
    for folder in (out, world):
        if folder.is_dir() and any(folder.iterdir()):
            if not args.overwrite:
                raise Refused(f"{folder} is not empty; a second world would mix with the first "
                              "(use --overwrite to replace it)")
            shutil.rmtree(folder)
    summary = simulate(cfg, out, world, progress())
    if wants_json(args):
        emit({"spool": str(out), "world": str(world), "accounts": cfg.accounts, "days": cfg.days,
              "seed": cfg.seed, "start": cfg.start, **asdict(summary)})
    else:
        from ato.cli.summaries import print_simulation

        print_simulation(cfg, summary, out, world)
    return 0


def _check_trainable(settings: Settings, days: int) -> None:
    """Refused before anything is written when a world of `days` days cannot feed one `ato train`:
    the nightly runs from the world's first day, and a login day's labels mature after
    batch.label_maturity_days nights."""
    maturity, window = settings.batch.label_maturity_days, settings.model.training_window_days
    if days < maturity + window:
        raise Refused(f"a {days}-day world trains no model: `ato train` needs {window} matured login days "
                      f"(model.train_days + val_days + test_days) and labels mature after {maturity} days "
                      f"(batch.label_maturity_days), so the world needs {maturity + window} days or more "
                      f"(--days; DEMO_DAYS for make demo), or those settings lowered (e.g. ATO_MODEL__TEST_DAYS)")


def _ingest(args: argparse.Namespace) -> int:
    from ato.ingest.discover import local_folder
    from ato.spark.ingest import ingest
    from ato.spark.session import get_spark

    settings = load_settings()
    try:
        spool = Path(local_folder(args.spool or settings.paths.spool, "the spool"))
    except ValueError as e:
        raise Refused(str(e)) from e
    shown = progress()
    with shown.step("starting Spark"):
        spark = get_spark(settings, "ato-ingest", job="ingest")
    summary = ingest(spark, settings, spool, shown)
    if wants_json(args):
        emit({"lake_root": settings.paths.lake_root, **asdict(summary)})
    else:
        from ato.cli.summaries import print_ingest

        print_ingest(summary, spark, settings)
    return 0


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from ato.analyst import connect, is_raw, list_tables, log_raw_access

    settings = load_settings()
    root = settings.paths.lake_root
    if not args.query:
        tables = list_tables(root)
        if wants_json(args):
            emit({"tables": tables, "raw": sorted(n for n in tables if is_raw(n))})
        else:
            for name, path in tables.items():
                print(f"{name}\t{path}" + ("\t(raw identifiers: --raw)" if is_raw(name) else ""))
        return 0
    if args.raw:
        log_raw_access(root, args.query)
    if args.engine == "spark":
        if args.as_of is not None:
            raise Refused("--as-of is for DuckDB; in Spark SQL write `FROM delta.`<path>` VERSION AS OF n` "
                          "(or TIMESTAMP AS OF '...') on the table itself")
        return _spark_sql(args, settings)
    try:
        rel = connect(root, raw=args.raw, as_of=args.as_of).sql(args.query)
    except duckdb.Error as e:
        hint = ""
        if not args.raw and any(is_raw(n) and n in args.query.lower() for n in list_tables(root)):
            hint = " (bronze tables hold raw identifiers: they are views only with --raw, which is logged)"
        raise Refused(f"query refused: {e}{hint}") from e
    if rel is None:  # a statement without a result (SET, CREATE VIEW ...)
        if wants_json(args):
            emit({"columns": [], "rows": []})
        return 0
    if wants_json(args):
        columns = list(rel.columns)
        rows: list[dict[str, Any]] = [dict(zip(columns, r, strict=True)) for r in rel.fetchall()]
        emit({"columns": columns, "rows": rows})
    else:
        rel.show(max_rows=args.max_rows)
    return 0


def as_of_arg(text: str) -> int | datetime:
    """A Delta version (a number) or an instant (ISO date or date-time, UTC when no zone is given)."""
    if text.isdigit():
        return int(text)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want a version number or an ISO date/time, got {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _spark_sql(args: argparse.Namespace, settings: Any) -> int:
    """The same views (tables as `<layer>_<table>`, the named views) in a local Spark session."""
    from ato.analyst.lake import register_spark
    from ato.cli.query import print_frame
    from ato.spark.session import get_spark

    spark = get_spark(settings, app="ato-sql")
    register_spark(spark, settings.paths.lake_root, raw=args.raw)
    try:
        df = spark.sql(args.query).toPandas()
    except Exception as e:  # Spark's AnalysisException and parse errors: say what Spark said
        said = next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)
        raise Refused(f"query refused: {said[:500]}") from e
    print_frame(df, "json" if wants_json(args) else "table", args.max_rows)
    return 0


def add_commands(sub: Any) -> None:
    s = sub.add_parser(
        "simulate", help="write a synthetic world (events + hidden truth) to a spool folder",
        description="Simulate accounts with legitimate habits and attack campaigns. Events go to the spool in "
                    "mixed formats (JSONL, CSV, Parquet), as other tools would write them; the ground truth "
                    "and the offline geo DB go to the world folder, never to the spool. Same seed and config, "
                    "same bytes.")
    s.add_argument("--accounts", type=int, help="number of accounts (default: conf/simulator.yaml)")
    s.add_argument("--days", type=int, help="days to simulate (default: conf/simulator.yaml)")
    s.add_argument("--seed", type=int, help="random seed; same seed and config give identical files")
    s.add_argument("--start", type=date.fromisoformat, help="first day, YYYY-MM-DD (UTC)")
    s.add_argument("--out", help="spool folder for event files (default: paths.spool)")
    s.add_argument("--world", help="folder for ground truth and the geo DB (default: paths.world)")
    s.add_argument("--config", type=Path, help="simulator YAML (default: conf/simulator.yaml)")
    s.add_argument("--trainable", action="store_true",
                   help="refuse a world too short for `ato train` under the current settings (make demo passes it)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace a non-empty spool/world folder (refused otherwise: two worlds would mix)")
    add_json(s)
    s.set_defaults(fn=_simulate)

    i = sub.add_parser(
        "ingest", help="ingest new spool files into bronze/quarantine/silver Delta tables",
        description="Spool files not yet in the ingest ledger -> contract checks and the GE suites -> "
                    "bronze (and quarantine, with a reason per bad row) -> enriched, pseudonymized silver. "
                    "All or nothing: a refused batch changes no table. Starts a local Spark session.")
    i.add_argument("spool", nargs="?", help="spool folder (default: paths.spool, ATO_SPOOL)")
    add_json(i)
    i.set_defaults(fn=_ingest)

    q = sub.add_parser(
        "sql", help="query the lake with DuckDB (no JVM); no query lists the tables",
        description="Every Delta table under paths.lake_root is a view named <layer>_<table> "
                    "(silver_logins, gold_training_set ...), read through delta-rs. DuckDB's own file access "
                    "is off: a query reads these views and nothing else on the host. Bronze tables (raw IPs, "
                    "device ids, user agents, quarantine's raw records) need --raw.")
    q.add_argument("query", nargs="?", help="SQL over the views, e.g. \"SELECT count(*) FROM silver_logins\"")
    q.add_argument("--raw", action="store_true",
                   help="also the bronze tables, which hold raw identifiers; logged with your user name and a "
                        "hash of the query in <lake>/_access/raw_access.jsonl")
    q.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="duckdb (default: delta-rs, no JVM, locked down) or spark (Spark SQL in a local session, "
                        "the same table and view names)")
    q.add_argument("--as-of", type=as_of_arg, metavar="VERSION|TIME",
                   help="time travel for audits: every table as it was at this Delta version, or at this UTC "
                        "instant (2026-09-14 or 2026-09-14T06:00); tables not yet created are left out")
    q.add_argument("--max-rows", type=int, default=40,
                   help="rows to print (the console table only; --json returns every row: use LIMIT)")
    add_json(q)
    q.set_defaults(fn=_sql)
