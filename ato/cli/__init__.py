"""The `ato` command: one module per command group, each calling the same functions the DAGs
call. `ato` (the console script) and `python -m ato.cli` both run `main`.

  data.py    simulate, ingest, sql          batch.py   nightly, monitor check
  model.py   train, promote, rollback, shadow, models
  serve.py   serve, publish, replay         report.py  report nightly | training
  privacy.py forget                         rings.py   rings list | show
  docs.py    docs (the data dictionary)      query.py   query list | show | run (saved queries), insights
  cluster.py cluster up | down | status (a Spark standalone cluster on this machine)
  scheduler.py airflow up | trigger (a project-local Airflow; runs triggered through its REST API)
  output.py  --json documents and refusals  summaries.py  the console tables
"""

from __future__ import annotations

import argparse
import os

from ato.cli.output import Refused, refused
from ato.settings import SettingsError

EPILOG = ("Every command has --help. Commands whose output programs read take --json: stdout is then "
          "exactly one JSON document. Settings: conf/settings.yaml, ATO_* environment variables (README).")


VERBOSE_HELP = ("also show Spark's and the JVM's own log lines (start-up, dependency and Hadoop warnings); "
                "the same as ATO_VERBOSE=1. Default: only ato's progress and summaries")


def _verbose_everywhere(p: argparse.ArgumentParser, top: bool = True) -> None:
    """`ato -v ingest` and `ato ingest -v` both work (a subcommand's default leaves the top one alone)."""
    p.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP,
                   default=False if top else argparse.SUPPRESS)
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _verbose_everywhere(child, top=False)


def build_parser() -> argparse.ArgumentParser:
    from ato.cli import (
        batch,
        cluster,
        data,
        docs,
        model,
        privacy,
        query,
        report,
        rings,
        scheduler,
        serve,
    )

    p = argparse.ArgumentParser(prog="ato", description="Account-takeover risk scoring: batch layer, model, "
                                                        "scoring API.", epilog=EPILOG)
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for group in (data, batch, model, serve, report, rings, privacy, docs, query, cluster, scheduler):
        group.add_commands(sub)
    _verbose_everywhere(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        os.environ["ATO_VERBOSE"] = "1"  # read by ato.spark.session, inherited by the processes we start
    try:
        return int(args.fn(args))
    except Refused as e:
        return refused(args, e)
    except SettingsError as e:
        return refused(args, Refused(str(e)))
    except Exception as e:
        from ato.ingest.discover import IngestError
        from ato.lake_lock import LakeBusy
        from ato.spark.java import UnsupportedJava
        from ato.spark.session import MissingJars

        if isinstance(e, IngestError):
            return refused(args, Refused(f"ingest refused, no table changed: {e}"))
        if isinstance(e, LakeBusy):
            return refused(args, Refused(f"refused, nothing written: {e}"))
        if isinstance(e, MissingJars | UnsupportedJava):
            return refused(args, Refused(str(e)))
        raise
