"""What a replayed day's decisions add up to: the actions taken, which link of the fallback chain
answered, the service's own latency and, with the simulator's ground truth, how many takeovers
and failed attacks were challenged and how many legitimate logins were (the friction)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ato.model.actions import ACTIONS

Row = tuple[str, dict[str, Any], dict[str, Any]]  # (what it really was, request, decision)
KINDS = ("takeover", "failed attack", "legit")


@dataclass
class ReplaySummary:
    scored: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    fallback_levels: dict[int, int] = field(default_factory=dict)
    latency_p50_ms: float = float("nan")
    latency_p99_ms: float = float("nan")
    challenged: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (challenged, of)

    def lines(self) -> list[str]:
        acts = ", ".join(f"{a} {self.actions.get(a, 0):,}" for a in ACTIONS)
        levels = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.fallback_levels.items()))
        out = [f"{self.scored:,} logins scored: {acts}",
               f"answered by fallback level {levels}; service latency p50 {self.latency_p50_ms:.1f} ms, "
               f"p99 {self.latency_p99_ms:.1f} ms"]
        for kind in KINDS:
            if kind in self.challenged:
                n, of = self.challenged[kind]
                out.append(f"{kind}: {n:,} of {of:,} challenged ({n / of:.1%}; step-up, review or lock)")
        return out


def kind_of(truth: str) -> str | None:
    """"takeover (credential_stuffing)" -> takeover; "?" (no ground truth) -> None."""
    return next((k for k in KINDS if truth.startswith(k)), None)


def summarize(rows: Sequence[Row]) -> ReplaySummary:
    """The day's decisions counted (`rows` as `ato.online.replay.run.run_replay` returns them)."""
    out = ReplaySummary(scored=len(rows))
    out.actions = dict(Counter(d["action"] for _, _, d in rows))
    out.fallback_levels = dict(Counter(int(d["fallback_level"]) for _, _, d in rows))
    if rows:
        ms = np.array([float(d["latency_ms"]) for _, _, d in rows])
        out.latency_p50_ms, out.latency_p99_ms = (float(x) for x in np.percentile(ms, [50, 99]))
    seen: dict[str, list[int]] = {}
    for truth, _, d in rows:
        kind = kind_of(truth)
        if kind is not None:
            c = seen.setdefault(kind, [0, 0])
            c[0] += d["action"] != "allow"
            c[1] += 1
    out.challenged = {k: (v[0], v[1]) for k, v in seen.items()}
    return out
