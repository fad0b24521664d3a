"""`ato nightly`: the batch layer's steps for one as-of date or a backfill, as the DAG runs them."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from ato.cli.output import Refused, add_json, emit, progress, say, wants_json
from ato.nightly import STEPS
from ato.settings import Settings, load_settings


def _dates(args: argparse.Namespace, settings: Settings) -> list[date]:
    from ato.nightly import date_range

    if sum(bool(x) for x in (args.date, args.date_from or args.date_to, args.all)) != 1:
        raise Refused("nightly needs one of --date D, --from D1 --to D2, or --all")
    if args.all:
        from ato.gates import silver_dates

        found = silver_dates(settings)
        if not found:
            raise Refused(f"no silver logins under {settings.paths.lake_root} (run ingest first)")
        return date_range(found[0], found[-1])
    if args.date:
        return [args.date]
    if not (args.date_from and args.date_to):
        raise Refused("a backfill needs both --from D1 and --to D2")
    try:
        return date_range(args.date_from, args.date_to)
    except ValueError as e:
        raise Refused(str(e)) from e


def versions_before(text: str | None) -> dict[str, int | None] | None:
    """`--versions-before`: a JSON mapping table -> Delta version, or the whole `--json` document
    of an earlier `ato nightly` (the DAG hands the aggregates task's document to the gate)."""
    if not text:
        return None
    doc = json.loads(text)
    if isinstance(doc, dict) and "versions_before" in doc:
        doc = doc["versions_before"]
    if not isinstance(doc, dict):
        raise Refused(f"--versions-before is not a JSON object: {text[:80]}")
    return doc


def _nightly(args: argparse.Namespace) -> int:
    from ato.decisions import DecisionsShrink
    from ato.gates import GateFailed
    from ato.nightly import run_nightly

    settings = load_settings()
    dates = _dates(args, settings)
    steps = tuple(x.strip() for x in args.steps.split(",")) if args.steps else STEPS
    try:
        summary = run_nightly(settings, dates, steps, Path(args.spool) if args.spool else None, progress(),
                              versions_before=versions_before(args.versions_before),
                              force_decisions=args.force_decisions, lock_wait_s=args.lock_wait,
                              commit_tag=args.commit_tag)
    except DecisionsShrink as e:
        raise Refused(f"decisions step refused: {e}") from e
    except GateFailed as e:
        if not wants_json(args):
            from ato.cli.summaries import print_nightly

            print_nightly(None, e.checks)
        kept = getattr(e, "kept_tables", [])
        restored = (f"gold tables restored except {', '.join(kept)} (another writer committed after us: re-run the "
                    "night to repair them)") if kept else "gold tables restored"
        raise Refused(f"{e}; nothing published, {restored}", 3,
                      {"gate_failed": True, "checks": [c.as_dict() for c in e.checks]}) from e
    if wants_json(args):
        # One line: the Airflow task's XCom, whose `versions_before` the gate task restores on failure.
        emit(asdict(summary))
    else:
        from ato.cli.summaries import print_nightly

        print_nightly(summary, summary.checks)
    return 0


def _monitor_check(args: argparse.Namespace) -> int:
    from ato.monitoring.trigger import check_retrain

    settings = load_settings()
    verdict = check_retrain(settings, args.date, record=not args.dry_run)
    if wants_json(args):
        emit(verdict.as_dict())
    else:
        say(f"night {verdict.night}, champion {verdict.champion}: "
            + ("RETRAIN" if verdict.retrain else "held back" if verdict.held_back else "no retrain"))
        for r in verdict.reasons:
            say(f"  - {r}")
        if verdict.held_back:
            say(f"  ({verdict.held_back})")
        say("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in verdict.numbers.items()))
    return 0


def add_commands(sub: Any) -> None:
    mon = sub.add_parser("monitor", help="monitoring verdicts (no JVM)",
                         description="Read what the nightly `monitor` step wrote (README: Monitoring).")
    msub = mon.add_subparsers(dest="what", required=True, metavar="WHAT")
    c = msub.add_parser("check", help="should night D trigger a retrain? (drift, estimated or realised recall)",
                        description="Drift of the champion's features or score, or its estimated or realised recall "
                                    "below what its reference expects (thresholds: conf `monitor`); a trigger within "
                                    "the cool-down is held back. A fired trigger is recorded for the cool-down.")
    c.add_argument("--date", type=date.fromisoformat, required=True, help="the night D (YYYY-MM-DD)")
    c.add_argument("--dry-run", action="store_true", help="do not record a fired trigger")
    add_json(c)
    c.set_defaults(fn=_monitor_check)

    n = sub.add_parser(
        "nightly", help="the nightly batch steps for one as-of date (or a backfill range)",
        description=" -> ".join(STEPS) + ", as the ato_nightly DAG runs them (one step per task)."
                    " A failed step or gate restores every "
                    "gold table it touched and publishes nothing; a failed gate exits 3. A backfill runs in one "
                    "Spark session.")
    n.add_argument("--date", type=date.fromisoformat, help="as-of date D (YYYY-MM-DD): snapshot of [D-29, D]")
    n.add_argument("--from", dest="date_from", type=date.fromisoformat, help="first as-of date of a backfill")
    n.add_argument("--to", dest="date_to", type=date.fromisoformat, help="last as-of date of a backfill (published)")
    n.add_argument("--all", action="store_true", help="backfill every date from the first to the last silver login day")
    n.add_argument("--steps", help=f"comma-separated subset of {','.join(STEPS)} (default: all, in that order)")
    n.add_argument("--spool", help="spool folder for the ingest step (default: paths.spool)")
    n.add_argument("--lock-wait", type=float, metavar="SECONDS",
                   help="wait this long for the lake's writer lock when another run holds it (default: "
                        "batch.lock_wait_s, 0 = refuse at once, naming the holder)")
    n.add_argument("--commit-tag", metavar="TAG",
                   help="the tag on this run's gold commits (Delta userMetadata); give every task of one scheduled "
                        "run the same (the DAG passes its run id) so a failed gate restores exactly their commits")
    n.add_argument("--force-decisions", action="store_true",
                   help="let the decisions step replace a day with fewer decisions than gold/decisions holds for it "
                        "(refused otherwise: audit files of another host not collected yet)")
    n.add_argument("--versions-before",
                   help="gold table versions to restore if this run fails: a JSON object table -> version, or the "
                        "--json document of the run that built them (the DAG passes the aggregates task's)")
    add_json(n)
    n.set_defaults(fn=_nightly)
