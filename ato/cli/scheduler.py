"""`ato airflow up | trigger`: a project-local Airflow on this machine (SQLite under --home, our
dags/ folder) with its API server, DAG processor and scheduler, and a run of a DAG triggered
through its REST API and followed to its end, as a user of the Airflow API does
(`ato.airflow_local`, `ato.airflow_rest`)."""

from __future__ import annotations

import argparse
import os
import signal
import time
from datetime import date
from pathlib import Path
from typing import Any

from ato.cli.output import Refused, add_json, emit, say, wants_json

HOME = ".airflow"
PORT = 8080


def _up(args: argparse.Namespace) -> int:
    from ato.airflow_local import airflow, airflow_env, api_user, scheduler

    home = Path(args.home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    # on this machine the nightly runs when triggered, not caught up from its start date
    env = airflow_env(home, ATO_NIGHTLY_SCHEDULE=os.environ.get("ATO_NIGHTLY_SCHEDULE", "none"))
    airflow(env, "db", "migrate")
    user, _, _ = api_user(home)
    with scheduler(home, env, dag_processor=True, port=args.port) as base:
        (home / "api-url").write_text(base)
        say(f"Airflow API and UI on {base} (user {user}, password in {home / 'passwords.json'}); "
            f"logs in {home}; trigger a night with `ato airflow trigger --date YYYY-MM-DD`; Ctrl-C stops")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stopping short
            say("stopping the API server, DAG processor and scheduler")
    (home / "api-url").unlink(missing_ok=True)
    return 0


def _trigger(args: argparse.Namespace) -> int:
    from ato.airflow_local import api_user
    from ato.airflow_rest import AirflowApi, AirflowApiError

    home = Path(args.home).resolve()
    if not (home / "api-url").exists():
        raise Refused(f"no Airflow running from {home} (start one with `ato airflow up`)")
    user, password, _ = api_user(home)
    api = AirflowApi((home / "api-url").read_text().strip(), user, password)
    try:
        api.wait_dag(args.dag, timeout_s=120)
        api.unpause(args.dag)
        run_id = api.trigger(args.dag, date.fromisoformat(args.date))
        say(f"{args.dag}: triggered run {run_id}")
        state = "queued"
        if args.wait:
            state = api.wait_run(args.dag, run_id, timeout_s=args.timeout, on_change=_changes())
    except (AirflowApiError, TimeoutError) as e:
        raise Refused(str(e)) from e
    doc: dict[str, Any] = {"dag_id": args.dag, "run_id": run_id, "state": state}
    if args.wait:
        doc["tasks"] = api.task_states(args.dag, run_id)
        failed = sorted(t for t, st in doc["tasks"].items() if st == "failed")
        if failed:
            say(f"failed: {', '.join(failed)}; task logs under {home / 'logs' / f'dag_id={args.dag}' / f'run_id={run_id}'}")
    emit(doc) if wants_json(args) else print(f"{args.dag} {run_id}: {state}")
    return 0 if state in ("success", "queued") else 1


def _changes() -> Any:
    """Progress of a followed run: the tasks whose state changed since the last look."""
    seen: dict[str, str | None] = {}

    def show(tasks: dict[str, str | None]) -> None:
        moved = {t: st for t, st in sorted(tasks.items()) if st is not None and seen.get(t) != st}
        seen.update(tasks)
        if moved:
            say(", ".join(f"{t} {st}" for t, st in moved.items()))
    return show


def add_commands(sub: Any) -> None:
    c = sub.add_parser("airflow", help="a project-local Airflow: API server, DAG processor, scheduler; REST triggers",
                       description="`up` runs the three Airflow services on --home until Ctrl-C (ato_nightly "
                                   "only when triggered unless ATO_NIGHTLY_SCHEDULE is set); `trigger` starts a "
                                   "DAG run for a date through the REST API and, with --wait, follows it.")
    acts = c.add_subparsers(dest="airflow_cmd", required=True, metavar="ACTION")
    up = acts.add_parser("up", help="start the API server, DAG processor and scheduler (foreground)")
    up.add_argument("--port", type=int, default=PORT, help=f"API server port on 127.0.0.1 (default {PORT})")
    trig = acts.add_parser("trigger", help="trigger a DAG run for a date through the REST API")
    trig.add_argument("--date", required=True, help="the logical date, YYYY-MM-DD (the night to run)")
    trig.add_argument("--dag", default="ato_nightly", help="the DAG (default ato_nightly)")
    trig.add_argument("--wait", action="store_true", help="follow the run until it succeeds or fails (exit 1)")
    trig.add_argument("--timeout", type=float, default=3600, help="seconds --wait waits at most (default 3600)")
    add_json(trig)
    for p, fn in ((up, _up), (trig, _trigger)):
        p.add_argument("--home", default=HOME, help=f"the Airflow home: SQLite, logs, passwords (default {HOME})")
        p.set_defaults(fn=fn)
