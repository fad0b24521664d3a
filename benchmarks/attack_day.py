"""Attack day: a credential-stuffing wave mixed with a day of legitimate logins, replayed through
`ato serve --workers 2` on Redis (a redis-server started here), and a hot-key phase.

Time is compressed: the service runs with `serving.clock: replay` (server time = newest event time seen),
so a simulated day is sent as fast as a fixed request rate allows. Passes, each on a fresh Redis loaded
with the snapshot of the day before (`ato publish --to redis`) and the day before's logins as events:
1. baseline: the day's legitimate logins alone, open loop at `--rate` scored requests/s; then the
   hot key: one account + IP + device, successful logins at `--hot-rate` for `--hot-seconds`;
2. wave: the same legitimate logins plus the wave (`benchmarks/attack_wave.py`), at the same rate.
Legitimate and valid-credential logins all go to /v1/score; failed attempts partly to /v1/score
(`--score-failures`) and the rest to /v1/events batches (speed layer only). The load generator is
`benchmarks/loadgen.py`. Run `make demo` first; heavy: run under `flock /tmp/ato-heavy.lock`.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if not __package__:  # run as a script: the repository root holds `benchmarks`
    sys.path.insert(0, str(ROOT))
from benchmarks.attack_report import report  # noqa: E402
from benchmarks.attack_servers import Service, free_port, publish  # noqa: E402
from benchmarks.attack_wave import LEGIT, Plan, WaveConf, build_plan  # noqa: E402
from benchmarks.loadgen import KEY, http_request, load  # noqa: E402

FULL = 1_000_000  # attempts of the full wave; smaller waves keep its per-IP rates over a shorter stretch


def scaled_conf(attempts: int, score_failures: float, seed: int = 13) -> WaveConf:
    f = min(attempts / FULL, 1.0)
    return WaveConf(attempts=attempts, ips=max(int(3000 * f), 40), hot_ips=max(min(int(200 * f), 200), 8),
                    wave_s=max(23 * 3600 * f, 600.0), wave_start_s=3600 if f >= 1 else max(3600 * f, 120.0),
                    score_failures=score_failures, seed=seed)


def day_traffic(env: dict[str, str], day: date | None) -> tuple[date, list[dict[str, Any]], list[dict[str, Any]],
                                                                  list[str]]:
    """(day, its legitimate logins, the day before's logins, accounts that logged in that day) from the lake
    (ground truth from the world folder picks the legitimate ones when it is there)."""
    from ato import deltars
    from ato.online.replay.feed import raw_logins, request_body
    from ato.online.replay.run import truth_of_day, world_truth
    from ato.settings import load_settings
    from ato.tables import LOGINS

    s = load_settings(environ=env)
    day = day or deltars.partition_dates(s, "silver", LOGINS, "event_date")[-1]
    rows = raw_logins(s, [day])
    truth = truth_of_day(world_truth(s), day)
    if truth is not None:
        rows = rows[rows["event_id"].isin(set(truth.loc[truth["attack_type"].isna(), "event_id"]))]
    before = raw_logins(s, [day - timedelta(days=1)])
    accounts = sorted(set(rows.loc[rows["outcome"] == "success", "account_id"]))  # real, active: the victims
    return (day, [request_body(r) for r in rows.to_dict("records")],
            [request_body(r) for r in before.to_dict("records")], accounts)


def due_times(plan: Plan, rate: float) -> list[float]:
    """Scored request k is due at k/rate; an events batch with the scored request before it."""
    out, k = [], 0
    for kind in plan.kinds:
        out.append(max(k - (kind >= 0), 0) / rate if kind < 0 else k / rate)
        k += kind >= 0
    return out


def send(svc: Service, plan: Plan, rate: float, conns: int, progress_s: float) -> dict[str, Any]:
    reqs = [http_request(svc.port, b, p) for p, b in zip(plan.paths, plan.bodies, strict=True)]
    return load(svc.port, reqs, None, 0.0, conns, due=due_times(plan, rate), record=True, progress_s=progress_s)


def hot_key(svc: Service, template: dict[str, Any], start_s: float, rate: float, seconds: float,
            conns: int) -> dict[str, Any]:
    """One account + IP + device, the same successful login at `rate` for `seconds` (event times 1:1)."""
    n = int(rate * seconds)
    base = {k: v for k, v in template.items() if k not in ("event_id", "event_time", "session_id")}
    reqs = [http_request(svc.port, json.dumps({**base, "outcome": "success", "event_id": f"hot-{i}",
                                               "event_time": datetime.fromtimestamp(start_s + i / rate, UTC)
                                               .isoformat()}).encode()) for i in range(n)]
    return load(svc.port, reqs, None, 0.0, conns, due=[i / rate for i in range(n)], record=True, progress_s=10.0)


def run_attack_day(env: dict[str, str], redis_url: str, conf: WaveConf, *, day: date | None = None, rate: float = 300.0,
                   hot_rate: float = 1000.0, hot_seconds: float = 60.0, conns: int = 32, progress_s: float = 15.0,
                   log_dir: Path | None = None, say: Any = print) -> dict[str, Any]:
    """The benchmark's core: both passes and the hot key against `env` (settings of the service: lake,
    models, online dir; the Redis and clock settings are set here). Returns the raw results."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    env = {**env, "ATO_STORE": "redis", "ATO_REDIS_URL": redis_url, "ATO_SERVING__CLOCK": "replay",
           "ATO_API_KEYS": KEY}
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="attack-day-"))
    day, legit, before, accounts = day_traffic(env, day)
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    say(f"day {day}: {len(legit):,} legitimate logins, {len(before):,} logins the day before, "
        f"{len(accounts):,} known accounts")
    base_plan = build_plan(WaveConf(attempts=0), [dict(b) for b in legit], accounts, day_start)
    plan = build_plan(conf, [dict(b) for b in legit], accounts, day_start)
    res: dict[str, Any] = {"day": str(day), "conf": conf.__dict__, "rate": rate, "counts": plan.counts,
                           "hot_prefix": plan.hot_prefix, "hot_rate": hot_rate, "hot_seconds": hot_seconds}
    template = next(b for b in legit if b["outcome"] == "success" and b.get("device_id"))

    publish(env, redis_url)
    with Service(env, free_port(), free_port(), log_dir / "serve-baseline.log") as svc:
        svc.warm_up(before)
        say(f"baseline: {len(base_plan.bodies):,} legitimate logins at {rate:.0f} scored req/s ...")
        res["baseline"] = {"load": send(svc, base_plan, rate, conns, progress_s), "plan": _meta(base_plan)}
        say(f"hot key: one account + IP + device at {hot_rate:.0f} req/s for {hot_seconds:.0f} s ...")
        res["hot"] = hot_key(svc, template, day_start + 86400 + 120, hot_rate, hot_seconds, conns)
        res["baseline"]["metrics"] = svc.metrics()
    publish(env, redis_url)
    with Service(env, free_port(), free_port(), log_dir / "serve-wave.log") as svc:
        svc.warm_up(before)
        res["rss_before"] = svc.rss()
        first_wave = next(i for i, k in enumerate(plan.kinds) if k != LEGIT)
        say(f"wave: {len(plan.bodies):,} requests ({plan.counts['failed_events']:,} failed attempts in "
            f"{plan.counts['batches']:,} /v1/events batches) at {rate:.0f} scored req/s ...")
        with svc.watch_attack_mode():
            res["wave"] = {"load": send(svc, plan, rate, conns, progress_s), "plan": _meta(plan)}
            res["wave"]["attack_on_epoch"] = svc.attack_on_epoch
        res["wave"]["first_wave_index"] = first_wave
        res["wave"]["start_t"] = day_start + conf.wave_start_s
        res["wave"]["due"] = due_times(plan, rate)
        res["rss_after"] = svc.rss()
        res["wave"]["metrics"] = svc.metrics()
        res["log_dir"] = str(log_dir)
    return res


def _meta(plan: Plan) -> dict[str, Any]:
    return {"kinds": np.array(plan.kinds, np.int8), "times": np.array(plan.times), "ids": plan.ids,
            "success": np.array(plan.success, bool)}


def demo_env() -> dict[str, str]:
    """The service over the demo data (`make demo`), its own online folder and audit."""
    from ato.online.snapshot.files import publish as publish_files
    from ato.settings import load_settings

    s = load_settings()
    own = ROOT / "data/attack-day"
    online = own / "online"
    env = {"ATO_ONLINE_DIR": str(online), "ATO_SERVING__AUDIT_DIR": str(own / "audit"), "ATO_SPOOL": str(own / "spool"),
           **{k: v for k, v in os.environ.items() if k.startswith("ATO_")}}
    from ato import deltars
    from ato.tables import LOGINS

    day = deltars.partition_dates(s, "silver", LOGINS, "event_date")[-1]
    if not (online / "CURRENT").exists():
        publish_files(s.model_copy(update={"online": s.online.model_copy(update={"snapshot_dir": str(online)})}),
                      day - timedelta(days=1))
    return env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attempts", "--size", type=int, default=FULL, help="attempts in the wave (default 1,000,000)")
    ap.add_argument("--rate", type=float, default=300.0, help="scored requests per second (open loop)")
    ap.add_argument("--score-failures", type=float, default=0.1, help="share of failed attempts sent to /v1/score")
    ap.add_argument("--hot-rate", type=float, default=1000.0)
    ap.add_argument("--hot-seconds", type=float, default=60.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--out", default="data/reports/attack-day.json")
    ap.add_argument("--set", action="append", default=[], metavar="ATO_X=VALUE",
                    help="a setting for the service (repeatable), e.g. ATO_SERVING__STORE_TIMEOUT_MS=20")
    a = ap.parse_args()
    from benchmarks.speed_layer import start_redis

    env = demo_env() | dict(kv.split("=", 1) for kv in a.set)
    url, redis = start_redis()
    try:
        res = run_attack_day(env, url, scaled_conf(a.attempts, a.score_failures), rate=a.rate, hot_rate=a.hot_rate,
                             hot_seconds=a.hot_seconds, conns=a.connections, log_dir=ROOT / "data/reports")
    finally:
        redis.terminate()
        redis.wait(10)
    raw = Path(a.out).with_suffix(".raw.pkl")  # the per-request results, to re-print without a re-run
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_bytes(pickle.dumps(res))
    summary = report(res) | {"settings": a.set}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(summary, indent=2, default=str))
    print(f"\nwritten {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
