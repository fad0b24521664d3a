"""`ato serve` (the API under uvicorn), `ato publish` (a snapshot for the online store) and
`ato replay` (a recorded day through the running service)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict
from datetime import date
from typing import Any

from ato.cli.output import Refused, add_json, emit, wants_json
from ato.settings import load_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings()
    if args.workers > 1 and settings.serving.store != "redis":
        raise Refused("several workers need shared speed-layer counters: set serving.store=redis (ATO_STORE=redis) "
                      "and load the snapshot with `ato publish --to redis`")
    # the workers' settings: a worker's own velocity counts are ~1/N of the shared ones (ato.online.decide.policy)
    os.environ["ATO_SERVING__WORKERS"] = str(args.workers)
    api = settings.api
    docs = {"public": "API docs at /docs", "off": "API docs off",
            "admin_port": f"API docs at http://{api.admin_host}:{api.admin_port}/docs"}[api.docs]
    print(f"ato: serving on http://{args.host}:{args.port} (store={settings.serving.store}, workers={args.workers}); "
          f"{docs}", file=sys.stderr, flush=True)
    config = {"app": "serving.app:create_app", "factory": True, "loop": "uvloop", "http": "httptools",
              "access_log": args.access_log, "log_level": args.log_level}
    if args.workers > 1:  # one socket per worker (SO_REUSEPORT): the kernel spreads the connections evenly
        from serving.metrics import workers_metrics_dir
        from serving.workers import run_workers

        with workers_metrics_dir():  # the workers' metric files, summed by /metrics
            return run_workers(args.workers, args.host, args.port, config)
    uvicorn.run(host=args.host, port=args.port, **config)
    return 0


def _publish(args: argparse.Namespace) -> int:
    settings = load_settings()
    doc: dict[str, Any] = {"files": None, "redis": None}
    if args.date:
        from ato.online.snapshot.files import publish

        p = publish(settings, args.date)
        doc["files"] = asdict(p)
        if not wants_json(args):
            print(f"published snapshot {p.as_of} to {p.path}: {p.rows}")
    if args.to == "redis":
        from ato.online.snapshot.redis import publish_to_redis

        r = publish_to_redis(settings, args.redis_url)
        doc["redis"] = r
        if not wants_json(args):
            print(f"loaded snapshot {r['as_of']} into {r['url']}: {r['rows']}")
    if not args.date and args.to != "redis":
        raise Refused("nothing to do: give --date D to publish snapshot D, and/or --to redis")
    if wants_json(args):
        emit(doc)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from ato.online.replay.run import print_replay, run_replay
    from ato.progress import ConsoleProgress

    settings = load_settings()
    rows, shown = run_replay(settings, args.date, args.url, args.port, args.takeovers, args.failed, args.legit,
                             args.score_all, ConsoleProgress())
    print_replay(args.date, rows, shown)
    return 0


def add_commands(sub: Any) -> None:
    s = sub.add_parser(
        "serve", help="run the scoring API (uvicorn)",
        description="serving.app:create_app under uvicorn, on the champion model and the published snapshot "
                    "(store from serving.store / ATO_STORE). Every /v1 route needs a key with its scope: "
                    "ATO_API_KEYS='name:score,events=SECRET;...' (or a plain comma list: every scope).")
    s.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: loopback only)")
    s.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    s.add_argument("--workers", type=int, default=1, help="worker processes (more than one needs store=redis)")
    s.add_argument("--access-log", action="store_true", help="log every request line (off: it costs throughput)")
    s.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="uvicorn's log level")
    s.set_defaults(fn=_serve)

    p = sub.add_parser(
        "publish", help="publish a gold snapshot for serving (files), and/or load it into Redis",
        description="--date D exports gold snapshot D to online.snapshot_dir (Parquet + manifest, CURRENT "
                    "swapped last); --to redis loads the live published snapshot into serving.redis_url.")
    p.add_argument("--date", type=date.fromisoformat, help="export gold snapshot D (YYYY-MM-DD) first")
    p.add_argument("--to", choices=["files", "redis"], default="files",
                   help="files: the snapshot folder only (default); redis: also load the live snapshot into Redis")
    p.add_argument("--redis-url", help="override serving.redis_url (ATO_REDIS_URL)")
    add_json(p)
    p.set_defaults(fn=_publish)

    r = sub.add_parser(
        "replay", help="replay a recorded day through the service and print a few decisions",
        description="Starts `ato serve` on the snapshot of the day before (or uses --url), feeds the day's "
                    "logins in order and prints the decisions of a few takeovers, failed attacks and legit "
                    "logins (picked with the simulator's ground truth); --score-all scores the whole day.")
    r.add_argument("--date", type=date.fromisoformat, help="day to replay (default: the last one with a takeover)")
    r.add_argument("--url", help="a running service (its key in ATO_API_KEYS); default: start one")
    r.add_argument("--port", type=int, default=8031, help="port of the service this command starts")
    r.add_argument("--takeovers", type=int, default=4, help="successful takeovers to show")
    r.add_argument("--failed", type=int, default=2, help="failed attack attempts to show")
    r.add_argument("--legit", type=int, default=4, help="legitimate logins to show")
    r.add_argument("--score-all", action="store_true",
                   help="score every login of the day, not only those shown (the audit log then holds the whole "
                        "day for `ato nightly --steps decisions,monitor`), and print what the decisions add up to")
    r.set_defaults(fn=_replay)
