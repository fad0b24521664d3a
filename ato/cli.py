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
    q = sub.add_parser("sql", help="query the lake with DuckDB (no JVM); no query lists the tables")
    q.add_argument("query", nargs="?", help="SQL over views named <layer>_<table>, e.g. silver_logins")
    q.add_argument("--max-rows", type=int, default=40, help="rows to print")
    q.set_defaults(fn=_sql)
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
