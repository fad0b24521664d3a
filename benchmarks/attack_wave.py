"""The traffic of an attack day (`benchmarks/attack_day.py`): a credential-stuffing wave over a day of
legitimate logins, as one time-ordered plan of requests. Pure generation, no I/O.

The wave: `attempts` logins from `ips` addresses in the simulated internet (`ato.simulator.geo`, whose
networks the service's geo database knows): one hosting /24 carrying `hot_share` of the wave, the
rest from residential botnet IPs (70 %) and hosting IPs (30 %) with a heavy-tailed share each. 60 % of
attempts name real accounts, the rest unknown usernames; `valid_share` of all attempts use valid
credentials (a successful login by the attacker on a real account). Half the attempts come from a
script without a device id, half from a browser that randomises its fingerprint every time.

Routing: every legitimate login and every valid-credential login goes to /v1/score (a decision is
judged); a failed attempt goes to /v1/score with probability `score_failures`, else to /v1/events in
small batches sent as soon as they are `batch` long or their oldest is `batch_lag_s` old (simulated):
they feed the speed layer (windows) but not attack mode, which only counts scored logins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ato.simulator.attacks import SCRIPT_UAS
from ato.simulator.geo import Internet, build_internet, ip_to_str_one

LEGIT, STUFF_FAIL, STUFF_VALID = 0, 1, 2  # kinds of a scored item
BROWSER_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0 Safari/537.36"


@dataclass(frozen=True)
class WaveConf:
    attempts: int = 1_000_000
    ips: int = 3000
    hot_share: float = 0.12  # of the wave, from one hosting /24
    hot_ips: int = 200  # addresses used inside that /24
    valid_share: float = 0.01
    real_account_share: float = 0.6
    score_failures: float = 0.1
    wave_start_s: float = 3600.0  # after the day's start: the first hour is legit traffic only
    wave_s: float = 23 * 3600.0
    batch: int = 64
    batch_lag_s: float = 5.0
    seed: int = 13


@dataclass
class Plan:
    """Requests in send order: `paths[i]` and `bodies[i]`; for scored items their kind and time."""

    paths: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)  # LEGIT / STUFF_FAIL / STUFF_VALID; -1 for an events batch
    times: list[float] = field(default_factory=list)  # event time (epoch s) of a scored item; batch: newest
    ids: list[str] = field(default_factory=list)  # event id of a scored item ("" for a batch)
    success: list[bool] = field(default_factory=list)  # a scored item's outcome is success
    counts: dict[str, int] = field(default_factory=dict)
    hot_prefix: str = ""

    def add(self, path: str, body: bytes, kind: int, time_s: float, event_id: str, success: bool = False) -> None:
        self.paths.append(path)
        self.bodies.append(body)
        self.kinds.append(kind)
        self.times.append(time_s)
        self.ids.append(event_id)
        self.success.append(success)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def ip_pool(net: Internet, rng: np.random.Generator, conf: WaveConf) -> tuple[list[str], np.ndarray, str]:
    """(addresses, probability of each, the hot /24 as text): the hot /24's hosts first."""
    hosting, residential = net.blocks_where("hosting"), net.blocks_where("residential")
    hot_base = int(net.block_base(np.array([hosting[0]]))[0]) + (77 << 8)  # x.y.77.0/24 of a hosting block
    hot = [hot_base + int(h) for h in rng.choice(np.arange(1, 255), min(conf.hot_ips, 254), replace=False)]
    n_rest = max(conf.ips - len(hot), 1)
    botnet = rng.random(n_rest) < 0.7
    rest = np.where(botnet, net.random_ip(rng, rng.choice(residential, n_rest)),
                    net.random_ip(rng, rng.choice(hosting, n_rest)))
    rest = np.where((rest >> 8) == hot_base >> 8, rest + 256, rest)  # keep the hot /24's share exact
    w_rest = 1.0 / np.arange(1, n_rest + 1) ** 0.8
    prob = np.concatenate([np.full(len(hot), conf.hot_share / len(hot)),
                           (1 - conf.hot_share) * w_rest / w_rest.sum()])
    return [ip_to_str_one(x) for x in [*hot, *rest.tolist()]], prob, f"{ip_to_str_one(hot_base)}/24"


def wave_logins(conf: WaveConf, accounts: list[str], day_start: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The wave's attempts in time order (/v1/score bodies plus `_kind`, `_t`), and what it holds."""
    rng = np.random.default_rng(conf.seed)
    net = build_internet()
    ips, prob, hot = ip_pool(net, rng, conf)
    n = conf.attempts
    t = np.sort(day_start + conf.wave_start_s + rng.random(n) * conf.wave_s)
    ip_idx = rng.choice(len(ips), n, p=prob)
    valid = rng.random(n) < conf.valid_share
    real = valid | (rng.random(n) < (conf.real_account_share - conf.valid_share) / (1 - conf.valid_share))
    victims = rng.integers(0, len(accounts), n)
    unknown = rng.integers(0, 10**8, n)
    script = rng.random(n) < 0.5
    ua_pick = rng.integers(0, len(SCRIPT_UAS), n)
    chrome = rng.integers(100, 126, n)
    fingerprint = rng.integers(0, 1 << 62, n)
    locked = rng.random(n) < 0.02
    out: list[dict[str, Any]] = []
    for i in range(n):
        if real[i]:
            acct, outcome = accounts[victims[i]], "success" if valid[i] else ("locked" if locked[i] else "bad_password")
        else:
            acct, outcome = f"acct_x{unknown[i]:08d}", "unknown_account"
        body: dict[str, Any] = {"event_id": f"aw-{conf.seed}-{i}", "event_time": _iso(float(t[i])), "account_id": acct,
                                "outcome": outcome, "ip": ips[ip_idx[i]]}
        if script[i]:
            body.update(user_agent=SCRIPT_UAS[ua_pick[i]], channel="api")
        else:
            body.update(user_agent=BROWSER_UA.format(v=chrome[i]), channel="web", device_id=f"fp-{fingerprint[i]:x}")
        body["_kind"], body["_t"] = (STUFF_VALID if valid[i] else STUFF_FAIL), float(t[i])
        out.append(body)
    info = {"hot_prefix": hot, "hot_prefix_attempts": int((ip_idx < min(conf.hot_ips, 254)).sum()),
            "ips": len(np.unique(ip_idx)), "valid": int(valid.sum()), "real_accounts": int(real.sum())}
    return out, info


def build_plan(conf: WaveConf, legit: list[dict[str, Any]], accounts: list[str], day_start: float) -> Plan:
    """Legit logins (bodies with event_time) and the wave, merged in time order and routed."""
    rng = np.random.default_rng(conf.seed + 1)
    wave, info = wave_logins(conf, accounts, day_start) if conf.attempts else ([], {})
    plan = Plan(hot_prefix=str(info.get("hot_prefix", "")))
    plan.counts.update({k: v for k, v in info.items() if k != "hot_prefix"})
    for b in legit:
        b["_kind"], b["_t"] = LEGIT, datetime.fromisoformat(b["event_time"]).timestamp()
    merged = sorted([*legit, *wave], key=lambda b: b["_t"])
    pending: list[dict[str, Any]] = []
    first = last = 0.0  # times of the oldest and newest pending event
    counts = {"legit": 0, "valid_scored": 0, "failed_scored": 0, "failed_events": 0, "batches": 0}

    def flush() -> None:
        plan.add("/v1/events", json.dumps({"logins": pending}).encode(), -1, last, "")
        counts["batches"] += 1
        pending.clear()

    for b in merged:
        kind, t = b.pop("_kind"), b.pop("_t")
        if kind == STUFF_FAIL and rng.random() >= conf.score_failures:
            if not pending:
                first = t
            pending.append(b)
            last = t
            counts["failed_events"] += 1
            if len(pending) >= conf.batch:
                flush()
            continue
        if pending and t - first > conf.batch_lag_s:
            flush()
        counts[{LEGIT: "legit", STUFF_VALID: "valid_scored", STUFF_FAIL: "failed_scored"}[kind]] += 1
        plan.add("/v1/score", json.dumps(b).encode(), kind, t, b["event_id"], b["outcome"] == "success")
    if pending:
        flush()
    plan.counts.update(counts)
    return plan
