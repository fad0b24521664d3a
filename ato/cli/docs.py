"""`ato docs [--check] [--out PATH]`: write the data dictionary (docs/data-dictionary.md) from
`ato/analyst/dictionary.yaml` and the stream contracts, or check that the written one is current.
No JVM, no lake: the page comes from the declarations alone."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ato.cli.output import Refused, add_json, emit, say, wants_json


def _docs(args: argparse.Namespace) -> int:
    from ato.analyst.dictionary import DOC, tables
    from ato.analyst.dictionary_md import render, stale

    out = Path(args.out) if args.out else DOC
    page = render()
    doc = {"path": str(out), "tables": len(tables()), "columns": sum(len(t.columns) for t in tables())}
    if args.check:
        problem = stale(out.read_text(encoding="utf-8") if out.is_file() else None, page, str(out))
        if problem:
            raise Refused(problem, code=1, doc={**doc, "stale": True})
        if wants_json(args):
            emit({**doc, "stale": False})
        else:
            say(f"{out} is up to date ({doc['tables']} tables, {doc['columns']} columns)")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    changed = not out.is_file() or out.read_text(encoding="utf-8") != page
    if changed:
        out.write_text(page, encoding="utf-8")
    if wants_json(args):
        emit({**doc, "changed": changed})
    else:
        say(f"{'wrote' if changed else 'unchanged:'} {out} ({doc['tables']} tables, {doc['columns']} columns)")
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("docs", help="write the data dictionary (docs/data-dictionary.md), or --check that it is current",
                       description="Renders every lake table's row, partitioning and columns (type, unit, meaning) "
                                   "from ato/analyst/dictionary.yaml and the contracts in ato/contracts.py. "
                                   "Exit 1 with --check when the page differs from what the declarations give.")
    p.add_argument("--out", metavar="PATH", help="where the page goes (default: docs/data-dictionary.md of the project)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1, naming the tables and lines that differ, when the page is stale")
    add_json(p)
    p.set_defaults(fn=_docs)
