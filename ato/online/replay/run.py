"""`ato replay`: the service as it stood on the morning of day D. Publishes snapshot D-1 to a
replay folder, starts `ato serve` on it (unless given a running URL), replays day D's logins in
order and prints the decisions for a few of them: takeovers, failed attacks and legit logins,
picked with the simulator's ground truth when the world folder has it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from ato.online.keys import secret_for
from ato.online.replay.feed import replay_day
from ato.settings import Settings


def truth_of_day(settings: Settings, day: date) -> pd.DataFrame | None:
    path = Path(settings.paths.world) / "login_truth.parquet"
    if not path.exists():
        return None
    t = pd.read_parquet(path, columns=["event_id", "event_time", "outcome", "attack_type"])
    t["event_time"] = pd.to_datetime(t["event_time"], utc=True)
    return t[t["event_time"].dt.date == day]


def default_day(settings: Settings) -> date:
    """The last login day with a successful takeover in the ground truth (else the last day)."""
    from ato import deltars
    from ato.tables import LOGINS

    days = deltars.partition_dates(settings, "silver", LOGINS, "event_date")
    if len(days) < 2:
        raise ValueError("replay needs two days of silver logins (the day and the one before it)")
    for d in reversed(days[1:]):
        t = truth_of_day(settings, d)
        if t is None or ((t["attack_type"].notna()) & (t["outcome"] == "success")).any():
            return d
    return days[-1]


def pick(settings: Settings, day: date, takeovers: int, failed: int, legit: int, seed: int = 7) -> dict[str, str]:
    """event id -> what it really was, for the logins to score."""
    t = truth_of_day(settings, day)
    if t is None:
        return {}
    att = t[t["attack_type"].notna()]
    groups = [
        (att[att["outcome"] == "success"], takeovers, lambda r: f"takeover ({r.attack_type})"),
        (att[att["outcome"] != "success"], failed, lambda r: f"failed attack ({r.attack_type})"),
        (t[t["attack_type"].isna() & (t["outcome"] == "success")], legit, lambda r: "legit"),
    ]
    out = {}
    for rows, n, label in groups:
        for r in rows.sample(min(n, len(rows)), random_state=seed).itertuples():
            out[str(r.event_id)] = label(r)
    return out


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
               failed: int = 2, legit: int = 4) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Replay `day`; returns (truth label, request, decision) for the picked logins."""
    day = day or default_day(settings)
    picks = pick(settings, day, takeovers, failed, legit)
    key = secret_for(os.environ.get("ATO_API_KEYS", ""), ("score", "events")) or secrets.token_hex(16)

    def go(base: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as c:
            def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                r = c.post(path, json=body)
                r.raise_for_status()
                return dict(r.json())

            choose = (lambda b: b["event_id"] in picks) if picks else (lambda b: hash(b["event_id"]) % 500 == 0)
            return replay_day(post, settings, day, choose)

    if url:
        pairs = go(url)
    else:
        with served(settings, day - timedelta(days=1), port, key) as base:
            pairs = go(base)
    return [(picks.get(req["event_id"], "?"), req, resp) for req, resp in pairs]


def print_replay(day: date | None, rows: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"decisions replaying {day or 'the last day'} through the running service")
    for c in ("time (UTC)", "account", "really", "outcome", "action", "risk", "level", "ms", "reasons"):
        t.add_column(c, overflow="fold")
    for truth, req, d in sorted(rows, key=lambda r: r[1]["event_time"]):
        t.add_row(req["event_time"][11:19], req["account_id"], truth, req["outcome"], d["action"],
                  f"{d['risk_score']:.4f}", str(d["fallback_level"]), f"{d['latency_ms']:.1f}",
                  "; ".join(d["reasons"]) or "-")
    Console(width=180).print(t)
