"""Prometheus metrics of the API. With several workers (`ato serve --workers N`), values go through
prometheus_client's multiprocess files (PROMETHEUS_MULTIPROC_DIR) and /metrics sums the workers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def workers_metrics_dir() -> Iterator[Path]:
    """The folder the workers' metric files go to while `ato serve --workers N` runs:
    PROMETHEUS_MULTIPROC_DIR when set, emptied of an earlier run's files first (as prometheus_client
    asks: their gauges would count as live), else a temporary folder removed on exit."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for f in path.glob("*.db"):
            f.unlink()
    else:
        path = Path(tempfile.mkdtemp(prefix="ato-metrics-"))
        os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        if not given:
            shutil.rmtree(path, ignore_errors=True)
            del os.environ[MULTIPROC_ENV]


def worker_gone(pid: int) -> None:
    """A worker process ended: its live gauges (in flight, attack mode, breaker, model) stop
    counting in /metrics; its counters and histograms keep what it served."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.latency = Histogram("ato_score_latency_seconds", "Time to decide one login, by fallback level",
                                 ["fallback_level"], buckets=LATENCY_BUCKETS, registry=r)
        self.decisions = Counter("ato_decisions_total", "Decisions by action and fallback level",
                                 ["action", "fallback_level"], registry=r)
        self.store_errors = Counter("ato_store_errors_total", "Online store failures by kind", ["error"], registry=r)
        self.model_info = Gauge("ato_model_info", "The champion version in use (value 1)", ["version"], registry=r,
                                multiprocess_mode="liveall")
        self.snapshot = Gauge("ato_snapshot_as_of_seconds", "End of the live snapshot's day (epoch seconds)",
                              registry=r, multiprocess_mode="max")
        self.in_flight = Gauge("ato_requests_in_flight", "Requests being handled", registry=r,
                               multiprocess_mode="livesum")
        self.events = Counter("ato_events_total", "Events accepted by /v1/events, by stream", ["stream"], registry=r)
        self.feedback = Counter("ato_feedback_total", "Feedback accepted, by label", ["label"], registry=r)
        self.reloads = Counter("ato_reloads_total", "Snapshots and champions picked up without restart", ["what"],
                               registry=r)
        self.speed = Gauge("ato_speed_layer", "This process's own speed layer: keys, entries (events and coarse "
                           "buckets), event ids, capped keys, evictions and duplicates since start",
                           ["what"], registry=r, multiprocess_mode="livesum")
        self.guardrails = Counter("ato_guardrail_hits_total", "Decisions a guardrail (or attack mode) raised or "
                                  "confirmed, by guardrail and fallback level", ["guardrail", "fallback_level"],
                                  registry=r)
        self.write_failures = Counter("ato_write_failures_total", "Audit or spool appends that failed (the "
                                      "decision was still returned)", ["what"], registry=r)
        self.attack_mode = Gauge("ato_attack_mode", "1 while attack mode is on (README: Attack mode)", registry=r,
                                 multiprocess_mode="livemax")
        self.attack_trigger = Gauge("ato_attack_trigger", "1 for each attack-mode trigger that is on: global, or an "
                                    "attacking network (prefix:<hash head> of a /24, asn:<number>)", ["trigger"],
                                    registry=r, multiprocess_mode="livemax")
        self.breaker_open = Gauge("ato_breaker_open", "1 while the online store's circuit breaker is open or "
                                  "half-open (logins fall back)", registry=r, multiprocess_mode="livemax")
        self.responses = Counter("ato_http_responses_total", "Responses to /v1 requests by route and status class "
                                 "(2xx, 4xx, 5xx)", ["route", "status"], registry=r)
        self.shadow = Counter("ato_shadow_decisions_total", "Level-0 decisions with a shadow challenger loaded: "
                              "scored with the same action as the champion's model, another action, or skipped "
                              "(decision already slower than serving.shadow_skip_after_ms, or the shadow failed)",
                              ["result"], registry=r)
        self._triggers: set[str] = set()
        self._decided: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._responded: dict[tuple[str, str], Any] = {}
        self._shadowed: dict[str, Any] = {}

    def decided(self, action: str, level: str, seconds: float) -> None:
        """One decision: its latency and its count (the labelled children looked up once per pair)."""
        c = self._decided.get((action, level))
        if c is None:
            c = self._decided[(action, level)] = (self.latency.labels(level), self.decisions.labels(action, level))
        c[0].observe(seconds)
        c[1].inc()

    def responded(self, route: str, status: int) -> None:
        """One /v1 answer, by route and status class (the labelled child looked up once per pair)."""
        key = (route, f"{status // 100}xx")
        c = self._responded.get(key)
        if c is None:
            c = self._responded[key] = self.responses.labels(*key)
        c.inc()

    def shadowed(self, result: str) -> None:
        """One level-0 decision with a shadow loaded: `same`, `other` or `skipped` (child looked up once)."""
        c = self._shadowed.get(result)
        if c is None:
            c = self._shadowed[result] = self.shadow.labels(result)
        c.inc()

    def set_speed(self, stats: dict[str, int]) -> None:
        for what, v in stats.items():
            self.speed.labels(what).set(v)

    def set_model(self, version: str | None) -> None:
        if not os.environ.get(MULTIPROC_ENV):  # each worker's files hold only what it set
            self.model_info.clear()
        self.model_info.labels(version or "none").set(1)

    def set_attack(self, on: bool, triggers: list[str]) -> None:
        """Attack-mode gauges; released triggers go to 0 (removed outside multiprocess mode)."""
        self.attack_mode.set(int(on))
        for t in triggers:
            self.attack_trigger.labels(t).set(1)
        for t in self._triggers - set(triggers):
            if os.environ.get(MULTIPROC_ENV):
                self.attack_trigger.labels(t).set(0)
            else:
                self.attack_trigger.remove(t)
        self._triggers = set(triggers)

    def render(self) -> bytes:
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            reg = CollectorRegistry()
            multiprocess.MultiProcessCollector(reg)
            return generate_latest(reg)
        return generate_latest(self.registry)
