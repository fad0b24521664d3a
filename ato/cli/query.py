"""`ato query list | show | run`: the saved analyst queries in `queries/` (ato.analyst.catalog), on
DuckDB (default, no JVM) or Spark SQL (`--engine spark`), printed as a table, CSV or JSON; and
`ato insights`, the HTML report answering the analysts' fifteen questions (ato.analyst.insights)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ato.cli.output import Refused, add_json, emit, wants_json

FORMATS = ("table", "csv", "json")


def _params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise Refused(f"--param wants NAME=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def _list(args: argparse.Namespace) -> int:
    from ato.analyst import catalog

    queries = catalog.load()
    if wants_json(args):
        emit({"queries": [{"name": q.name, "question": q.question, "section": q.section, "file": q.path.name,
                           "views": list(q.views), "columns": list(q.columns),
                           "params": [{"name": p.name, "type": p.type, "default": p.default, "doc": p.doc}
                                      for p in q.params]} for q in queries]})
        return 0
    section = None
    for q in queries:
        if q.section != section:
            section = q.section
            print(f"\n{section}")
        params = " ".join(f"{p.name}={p.default if p.default is not None else '?'}" for p in q.params)
        print(f"  {q.name:<28} {q.question}")
        print(f"  {'':<28} reads {', '.join(q.views)}; params: {params or 'none'}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from ato.analyst import catalog

    try:
        q = catalog.find(args.name)
        sql = q.render(args.engine, _params(args.param))
    except ValueError as e:
        raise Refused(str(e)) from e
    if wants_json(args):
        emit({"name": q.name, "engine": args.engine, "sql": sql})
    else:
        print(sql)
    return 0


def run_query(name: str, given: dict[str, str], engine: str) -> Any:
    """The rows of saved query `name` on the configured lake, as a pandas frame."""
    from ato.analyst import catalog, views
    from ato.analyst.lake import connect, is_raw, list_tables, register_spark
    from ato.settings import load_settings

    q = catalog.find(name)
    q.values(given)  # mistakes in parameters before any engine starts
    root = load_settings().paths.lake_root
    if engine == "spark":
        from ato.spark.session import get_spark

        spark = get_spark(load_settings(), app="ato-query")
        return catalog.run_spark(spark, q, given, register_spark(spark, root))
    missing = views.available({n for n in list_tables(root) if not is_raw(n)})[1]
    return catalog.run_duckdb(connect(root), q, given, missing)


def print_frame(df: Any, fmt: str, max_rows: int) -> None:
    if fmt == "csv":
        df.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        rows = json.loads(df.to_json(orient="records", date_format="iso"))
        emit({"columns": list(df.columns), "rows": rows})  # as `ato sql --json` answers
    else:
        print(df.to_string(index=False, max_rows=max_rows) if len(df) else f"(no rows) columns: {list(df.columns)}")


def _run(args: argparse.Namespace) -> int:
    given = _params(args.param)
    try:
        df = run_query(args.name, given, args.engine)
    except ValueError as e:
        raise Refused(str(e)) from e
    print_frame(df, "json" if wants_json(args) else args.format, args.max_rows)
    return 0


def _insights(args: argparse.Namespace) -> int:
    from datetime import timedelta
    from pathlib import Path

    from ato.analyst.insights import build
    from ato.model.data import training_days
    from ato.settings import load_settings

    settings = load_settings()
    days = training_days(settings)
    if not days and args.to is None:
        raise Refused("the lake has no training set yet: run `ato nightly` (or `make demo`) first")
    to = args.to or max(days)
    first = args.from_ or max(to - timedelta(days=29), min(days) if days else to)
    if first > to:
        raise Refused(f"--from {first} is after --to {to}")
    out = Path(args.out) if args.out else Path(settings.paths.reports) / f"insights-{first}-{to}.html"
    got = build(settings, first, to, out, legit_sample=args.legit_sample)
    if wants_json(args):
        emit({"path": str(got.path), "answered": got.answered, "numbers": got.numbers})
    else:
        print(got.path)
    return 0


def add_commands(sub: Any) -> None:
    from datetime import date

    i = sub.add_parser(
        "insights", help="an HTML report answering the analysts' fifteen questions on this lake",
        description="Failed payments vs suspicious accounts, login and session anomalies, device switchers, "
                    "time between logins, geo dispersion, time since a failed payment, behavioural vs static "
                    "features, weekly effectiveness, flag rates, a five-model comparison, one decision in plain "
                    "words, interpretability, candidate rules and an A/B design, high-risk hours, ROI. Each "
                    "answer shows the saved query or named function behind it.")
    i.add_argument("--from", dest="from_", type=date.fromisoformat, help="first login day (default: 29 days "
                   "before --to)")
    i.add_argument("--to", type=date.fromisoformat, help="last login day (default: the training set's last)")
    i.add_argument("--out", help="HTML file (default: <paths.reports>/insights-FROM-TO.html)")
    i.add_argument("--legit-sample", type=int, default=60_000,
                   help="legitimate training logins the comparison's logistic regression and forest fit on")
    add_json(i)
    i.set_defaults(fn=_insights)

    q = sub.add_parser(
        "query", help="the saved analyst queries (queries/*.sql): list, show, run on DuckDB or Spark SQL",
        description="One file per analyst question, over the named views (docs/data-dictionary.md, 'Named "
                    "views'). The same file gives the same rows on DuckDB (no JVM) and on Spark SQL.")
    qs = q.add_subparsers(dest="query_cmd", required=True, metavar="ACTION")
    ls = qs.add_parser("list", help="every saved query, the question it answers, its views and parameters")
    add_json(ls)
    ls.set_defaults(fn=_list)
    for name, fn, text in (("show", _show, "print the SQL as an engine would run it"),
                           ("run", _run, "run a saved query and print its rows")):
        p = qs.add_parser(name, help=text)
        p.add_argument("name", help="the query's name (`ato query list`)")
        p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a parameter (repeatable); typed: a date is YYYY-MM-DD")
        p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                       help="duckdb (default: delta-rs, no JVM) or spark (a local Spark session, Spark SQL)")
        if name == "run":
            p.add_argument("--format", choices=FORMATS, default="table", help="table (default), csv or json")
            p.add_argument("--max-rows", type=int, default=60, help="rows to print in the table format")
        add_json(p)
        p.set_defaults(fn=fn)
