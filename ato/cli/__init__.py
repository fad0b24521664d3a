"""The `ato` command. Each subcommand calls the same functions the DAGs call."""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import date
from pathlib import Path

from ato.settings import SettingsError, load_settings


def _simulate(args: argparse.Namespace) -> int:
    from ato.progress import ConsoleProgress
    from ato.report_cli import print_simulation
    from ato.simulator.config import load_simulator_config
    from ato.simulator.run import simulate

    settings = load_settings()
    cfg = load_simulator_config(args.config, accounts=args.accounts, days=args.days, seed=args.seed, start=args.start)
    out = Path(args.out or settings.paths.spool)
    world = Path(args.world or settings.paths.world)
    for folder in (out, world):
        if folder.is_dir() and any(folder.iterdir()):
            if not args.overwrite:
                print(f"ato: {folder} is not empty; a second world would mix with the first "
                      "(use --overwrite to replace it)", file=sys.stderr)
                return 2
            shutil.rmtree(folder)
    summary = simulate(cfg, out, world, ConsoleProgress())
    print_simulation(cfg, summary, out, world)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from ato.progress import ConsoleProgress
    from ato.report_cli import print_ingest
    from ato.spark.ingest import ingest
    from ato.spark.session import get_spark

    settings = load_settings()
    progress = ConsoleProgress()
    with progress.step("starting Spark"):
        spark = get_spark(settings, "ato-ingest")
    summary = ingest(spark, settings, Path(args.spool or settings.paths.spool), progress)
    print_ingest(summary, spark, settings)
    return 0


def _nightly(args: argparse.Namespace) -> int:
    import json

    from ato.gates import GateFailed
    from ato.nightly import STEPS, date_range, run_nightly
    from ato.progress import ConsoleProgress
    from ato.report_cli import print_nightly

    settings = load_settings()
    if sum(bool(x) for x in (args.date, args.date_from or args.date_to, args.all)) != 1:
        print("ato: nightly needs one of --date D, --from D1 --to D2, or --all", file=sys.stderr)
        return 2
    if args.all:
        from ato.gates import silver_dates

        found = silver_dates(settings)
        if not found:
            print(f"ato: no silver logins under {settings.paths.lake_root} (run ingest first)", file=sys.stderr)
            return 2
        dates = date_range(found[0], found[-1])
    elif args.date:
        dates = [args.date]
    elif args.date_from and args.date_to:
        dates = date_range(args.date_from, args.date_to)
    else:
        print("ato: nightly needs --date D or --from D1 --to D2", file=sys.stderr)
        return 2
    steps = tuple(x.strip() for x in args.steps.split(",")) if args.steps else STEPS
    before = json.loads(args.versions_before) if args.versions_before else None
    if isinstance(before, dict) and "versions_before" in before:  # the aggregates task's last line, as is
        before = before["versions_before"]
    try:
        summary = run_nightly(settings, dates, steps, Path(args.spool) if args.spool else None, ConsoleProgress(),
                              versions_before=before)
    except GateFailed as e:
        print_nightly(None, e.checks)
        print(f"ato: {e}; nothing published, gold tables restored", file=sys.stderr)
        return 3
    print_nightly(summary, summary.checks)
    # Last line for Airflow (XCom): the gold versions to restore if a later step fails.
    print(json.dumps({"versions_before": summary.versions_before}))
    return 0


def _sql(args: argparse.Namespace) -> int:
    from ato.analyst import connect, list_tables

    settings = load_settings()
    if not args.query:
        for name, path in list_tables(settings.paths.lake_root).items():
            print(f"{name}\t{path}")
        return 0
    connect(settings.paths.lake_root).sql(args.query).show(max_rows=args.max_rows)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ato", description="Account-takeover risk scoring.")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("simulate", help="write a synthetic world (events + hidden truth) to a spool folder")
    s.add_argument("--accounts", type=int, help="number of accounts (default: conf/simulator.yaml)")
    s.add_argument("--days", type=int, help="days to simulate")
    s.add_argument("--seed", type=int, help="random seed; same seed and config give identical files")
    s.add_argument("--start", type=date.fromisoformat, help="first day, YYYY-MM-DD (UTC)")
    s.add_argument("--out", help="spool folder for event files (default: paths.spool)")
    s.add_argument("--world", help="folder for ground truth and the geo DB (default: paths.world)")
    s.add_argument("--config", type=Path, help="simulator YAML (default: conf/simulator.yaml)")
    s.add_argument("--overwrite", action="store_true", help="replace a non-empty spool/world folder")
    s.set_defaults(fn=_simulate)
    i = sub.add_parser("ingest", help="ingest new spool files into bronze/quarantine/silver Delta tables")
    i.add_argument("spool", nargs="?", help="spool folder (default: paths.spool)")
    i.set_defaults(fn=_ingest)
    n = sub.add_parser("nightly", help="the nightly batch steps for one as-of date (or a backfill range)",
                       description="ingest -> validate -> aggregates -> training -> gate -> publish -> report, as the DAG runs them")
    n.add_argument("--date", type=date.fromisoformat, help="as-of date D (YYYY-MM-DD): snapshot of [D-29, D]")
    n.add_argument("--from", dest="date_from", type=date.fromisoformat, help="first as-of date of a backfill")
    n.add_argument("--to", dest="date_to", type=date.fromisoformat, help="last as-of date of a backfill (published)")
    n.add_argument("--all", action="store_true", help="backfill every date from the first to the last silver login day")
    n.add_argument("--steps", help="comma-separated subset of ingest,decisions,validate,aggregates,training,gate,publish,report")
    n.add_argument("--spool", help="spool folder for the ingest step (default: paths.spool)")
    n.add_argument("--versions-before", help="JSON of gold table versions to restore on failure (set by the DAG)")
    n.set_defaults(fn=_nightly)
    q = sub.add_parser("sql", help="query the lake with DuckDB (no JVM); no query lists the tables")
    q.add_argument("query", nargs="?", help="SQL over views named <layer>_<table>, e.g. silver_logins")
    q.add_argument("--max-rows", type=int, default=40, help="rows to print")
    q.set_defaults(fn=_sql)
    from ato.model_cli import add_model_commands

    add_model_commands(sub)
    from ato.serve_cli import add_serve_commands

    add_serve_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except SettingsError as e:
        print(f"ato: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        from ato.ingest.discover import IngestError

        if isinstance(e, IngestError):
            print(f"ato: ingest refused, no table changed: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
