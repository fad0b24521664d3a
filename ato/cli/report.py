"""`ato report nightly --date D` (writes the nightly HTML report from the lake, as the nightly
`report` step does) and `ato report training [VERSION]` (where a version's training report is)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from ato.cli.output import Refused, add_json, emit, wants_json
from ato.settings import Settings, load_settings


def _answer(args: argparse.Namespace, path: Path, **doc: Any) -> int:
    if wants_json(args):
        emit({**doc, "path": str(path)})
    else:
        print(path)
    return 0


def _nightly(args: argparse.Namespace) -> int:
    from ato.report.nightly import build_nightly_report

    settings = load_settings()
    return _answer(args, build_nightly_report(settings, args.date), report="nightly", as_of=args.date)


def training_report(s: Settings, version: str | None) -> tuple[str, Path]:
    """(version, path) of the training report of `version`, or of the champion."""
    from ato.model import registry

    version = version or registry.champion(s)
    if version is None:
        raise Refused(f"no champion under {registry.registry_dir(s)}: name a version (see `ato models`)")
    if version not in registry.versions(s):
        raise Refused(f"no model version {version} under {registry.registry_dir(s)}")
    # `ato train` writes it into the version folder and copies it to paths.reports.
    for path in (Path(s.paths.reports) / f"training-{version}.html", registry.registry_dir(s) / version / "report.html"):
        if path.is_file():
            return version, path
    raise Refused(f"version {version} has no training report")


def _training(args: argparse.Namespace) -> int:
    version, path = training_report(load_settings(), args.version)
    return _answer(args, path, report="training", version=version)


def add_commands(sub: Any) -> None:
    rep = sub.add_parser("report", help="HTML reports: write the nightly one, find a training one",
                         description="Prints the report's path (open it in a browser).")
    kinds = rep.add_subparsers(dest="kind", required=True, metavar="KIND")
    n = kinds.add_parser(
        "nightly", help="write the nightly report for as-of date D and print its path",
        description="Gate verdicts, input volume and quarantine per day, snapshot feature distributions and "
                    "the training set's labels, read from the lake with DuckDB (no JVM); written to "
                    "<paths.reports>/nightly-<D>.html, as the nightly `report` step does.")
    n.add_argument("--date", type=date.fromisoformat, required=True, help="as-of date D (YYYY-MM-DD)")
    add_json(n)
    n.set_defaults(fn=_nightly)
    t = kinds.add_parser(
        "training", help="print the path of a version's training report (default: the champion's)",
        description="The report `ato train` wrote: splits, imbalance comparison, search, metrics by scorer "
                    "and attack type, PR curves, calibration, cost curve, feature importance, SHAP summary.")
    t.add_argument("version", nargs="?", help="a version id as `ato models` lists it (default: the champion)")
    add_json(t)
    t.set_defaults(fn=_training)
