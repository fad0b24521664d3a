"""`ato replay`: the service as it stood on the morning of day D. Publishes snapshot D-1 to a
replay folder, starts `ato serve` on it (unless given a running URL), replays day D's logins in
order and prints the decisions for a few of them: takeovers, failed attacks and legit logins,
picked with the simulator's ground truth when the world folder has it. `score_all` scores every
login of the day (the rest go to /v1/events otherwise), so the audit log holds a whole day of
decisions for the nightly monitor, and prints what they add up to (`ato.online.replay.summary`)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from ato.online.keys import secret_for
from ato.online.replay.feed import replay_day
from ato.online.replay.summary import Row, summarize
from ato.progress import QUIET, Progress
from ato.settings import Settings


def world_truth(settings: Settings) -> pd.DataFrame | None:
    """The simulator's ground truth of every login (event id, time, outcome, attack type), or None
    when the world folder has none; read once per replay."""
    path = Path(settings.paths.world) / "login_truth.parquet"
    if not path.exists():
        return None
    t = pd.read_parquet(path, columns=["event_id", "event_time", "outcome", "attack_type"])
    t["event_time"] = pd.to_datetime(t["event_time"], utc=True)
    return t


def truth_of_day(truth: pd.DataFrame | None, day: date) -> pd.DataFrame | None:
    """The logins of `day` in `truth` (`world_truth`)."""
    return None if truth is None else truth[truth["event_time"].dt.date == day]


def default_day(settings: Settings, truth: pd.DataFrame | None) -> date:
    """The last login day (after the first) with a successful takeover in the ground truth (else the
    last day)."""
    from ato import deltars
    from ato.tables import LOGINS

    days = deltars.partition_dates(settings, "silver", LOGINS, "event_date")
    if len(days) < 2:
        raise ValueError("replay needs two days of silver logins (the day and the one before it)")
    if truth is not None:
        taken = set(truth.loc[truth["attack_type"].notna() & (truth["outcome"] == "success"), "event_time"].dt.date)
        return next((d for d in reversed(days[1:]) if d in taken), days[-1])
    return days[-1]


def pick(truth: pd.DataFrame | None, takeovers: int, failed: int, legit: int, seed: int = 7) -> set[str]:
    """Event ids of the logins to show: a few takeovers, failed attacks and legit successes."""
    if truth is None:
        return set()
    att = truth[truth["attack_type"].notna()]
    groups = [(att[att["outcome"] == "success"], takeovers), (att[att["outcome"] != "success"], failed),
              (truth[truth["attack_type"].isna() & (truth["outcome"] == "success")], legit)]
    return {str(e) for rows, n in groups for e in rows["event_id"].sample(min(n, len(rows)), random_state=seed)}


def labels_of_day(truth: pd.DataFrame | None) -> dict[str, str]:
    """event id -> what it really was, for every login of a day's ground truth (`truth_of_day`)."""
    if truth is None:
        return {}
    attack = truth["attack_type"].notna()
    kind = np.where(~attack, "legit", np.where(truth["outcome"] == "success", "takeover", "failed attack"))
    what = [k if k == "legit" else f"{k} ({a})" for k, a in zip(kind, truth["attack_type"], strict=True)]
    return dict(zip(truth["event_id"].astype(str), what, strict=True))


def sampled(event_id: str) -> bool:
    """Without ground truth, one login in 500 is shown (by a stable hash of its id)."""
    return zlib.crc32(event_id.encode()) % 500 == 0


@contextmanager
def served(settings: Settings, snapshot_day: date, port: int, key: str) -> Iterator[str]:
    """`ato serve` on snapshot `snapshot_day`, published to `<online.snapshot_dir>-replay`."""
    from ato.online.snapshot.files import publish

    folder = settings.online.snapshot_dir.rstrip("/") + "-replay"
    publish(settings.model_copy(update={"online": settings.online.model_copy(update={"snapshot_dir": folder})}),
            snapshot_day)
    # a recorded day: server time follows the replayed events, not the machine's clock
    env = {**os.environ, "ATO_ONLINE_DIR": folder, "ATO_API_KEYS": key, "ATO_SERVING__CLOCK": "replay"}
    log = Path(settings.serving.audit_dir).parent / "replay-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "ato.cli", "serve", "--port", str(port)], env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 90
        with httpx.Client(timeout=2) as http:  # one client: httpx builds a TLS context per client
            while True:
                try:
                    if http.get(url + "/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"the service did not start; see {log}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def run_replay(settings: Settings, day: date | None, url: str | None, port: int, takeovers: int = 4,
               failed: int = 2, legit: int = 4, score_all: bool = False,
               progress: Progress = QUIET) -> tuple[list[Row], set[str]]:
    """Replay `day`; returns (truth label, request, decision) for every scored login (the picked
    ones, or all with `score_all`) and the event ids of the picked ones among them, to show."""
    everything = world_truth(settings)
    day = day or default_day(settings, everything)
    truth = truth_of_day(everything, day)
    picks, labels = pick(truth, takeovers, failed, legit), labels_of_day(truth)
    show: Callable[[str], bool] = (lambda e: e in picks) if picks else sampled
    key = secret_for(os.environ.get("ATO_API_KEYS", ""), ("score", "events")) or secrets.token_hex(16)

    def go(base: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as c:
            def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                r = c.post(path, json=body)
                r.raise_for_status()
                return dict(r.json())

            return replay_day(post, settings, day, lambda b: score_all or show(b["event_id"]), progress=progress)

    if url:
        pairs = go(url)
    else:
        with served(settings, day - timedelta(days=1), port, key) as base:
            pairs = go(base)
    rows = [(labels.get(req["event_id"], "?"), req, resp) for req, resp in pairs]
    return rows, {req["event_id"] for _, req, _ in rows if show(req["event_id"])}


def print_replay(day: date | None, rows: list[Row], shown: set[str]) -> None:
    """The shown logins' decisions, then, when more were scored, what the day's decisions add up to."""
    from rich.console import Console
    from rich.table import Table

    when = day or (rows[0][1]["event_time"][:10] if rows else "the last day")
    t = Table(title=f"decisions replaying {when} through the running service")
    for c in ("time (UTC)", "account", "really", "outcome", "action", "risk", "level", "ms", "reasons"):
        t.add_column(c, overflow="fold")
    for truth, req, d in sorted((r for r in rows if r[1]["event_id"] in shown), key=lambda r: r[1]["event_time"]):
        t.add_row(req["event_time"][11:19], req["account_id"], truth, req["outcome"], d["action"],
                  f"{d['risk_score']:.4f}", str(d["fallback_level"]), f"{d['latency_ms']:.1f}",
                  "; ".join(d["reasons"]) or "-")
    con = Console(width=180)
    con.print(t)
    if len(rows) > len(shown):
        for line in summarize(rows).lines():
            con.print(line)
