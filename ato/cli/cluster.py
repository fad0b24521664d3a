"""`ato cluster up | down | status`: a Spark standalone master and workers on this machine's
loopback interface, from the installed pyspark (`ato.spark.cluster`); run the nightly against it
with `ATO_SPARK_MASTER=<the printed master URL>`."""

from __future__ import annotations

import argparse
from typing import Any

from ato.cli.output import Refused, add_json, emit, wants_json

FOLDER = "data/cluster"


def _up(args: argparse.Namespace) -> int:
    from ato.spark.cluster import up

    try:
        c = up(args.folder, workers=args.workers, cores=args.cores, memory=args.memory)
    except RuntimeError as e:
        raise Refused(str(e)) from e
    if wants_json(args):
        emit({"master": c.master_url, "webui": c.webui, "pids": c.pids})
    else:
        print(f"master {c.master_url} (web UI {c.webui}), {args.workers} workers; "
              f"run the nightly on it with ATO_SPARK_MASTER={c.master_url}")
    return 0


def _down(args: argparse.Namespace) -> int:
    from ato.spark.cluster import down

    n = down(args.folder)
    emit({"stopped": n}) if wants_json(args) else print(f"stopped {n} processes")
    return 0


def _status(args: argparse.Namespace) -> int:
    from ato.spark.cluster import recorded, status

    c = recorded(args.folder)
    st = status(c.webui) if c else None
    if c is None or st is None:
        raise Refused(f"no cluster running from {args.folder} (`ato cluster up`)")
    workers = [{"id": w.get("id"), "state": w.get("state"), "cores": w.get("cores")} for w in st.get("workers", [])]
    if wants_json(args):
        emit({"master": c.master_url, "workers": workers, "completed_apps": len(st.get("completedapps", []))})
    else:
        print(f"master {c.master_url}: " + ", ".join(f"{w['id']} {w['state']}" for w in workers))
    return 0


def add_commands(sub: Any) -> None:
    c = sub.add_parser("cluster", help="a Spark standalone master and workers on this machine (loopback only)",
                       description="Starts them from the installed pyspark (spark-class), records their pids in "
                                   "--folder, and waits until every worker is ALIVE.")
    acts = c.add_subparsers(dest="cluster_cmd", required=True, metavar="ACTION")
    for name, fn, text in (("up", _up, "start a master and workers"), ("down", _down, "stop them"),
                           ("status", _status, "the master's view of its workers")):
        p = acts.add_parser(name, help=text)
        p.add_argument("--folder", default=FOLDER, help=f"pids, logs, work dirs (default {FOLDER})")
        if name == "up":
            p.add_argument("--workers", type=int, default=2, help="workers (default 2)")
            p.add_argument("--cores", type=int, default=1, help="cores per worker (default 1)")
            p.add_argument("--memory", default="2g", help="memory per worker (default 2g)")
        add_json(p)
        p.set_defaults(fn=fn)
