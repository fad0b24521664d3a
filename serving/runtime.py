"""What the routes share at run time: settings, the decider, the audit and spool appenders, metrics,
the load signals (requests in flight, event-loop lag) and the background reload."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import os
import time

from ato.online.appender import JsonlAppender
from ato.online.chain import Decider, load_models
from ato.online.enrich import Enricher
from ato.online.store import open_store, snapshot_cutoff_s
from ato.settings import Settings
from serving.metrics import Metrics

log = logging.getLogger("ato.serving")


def key_hashes(settings: Settings, environ: dict[str, str] | None = None) -> set[str]:
    """SHA-256 of every accepted key: ATO_API_KEYS (plain, comma-separated) and conf's hashes."""
    env = os.environ if environ is None else environ
    plain = [k.strip() for k in env.get("ATO_API_KEYS", "").split(",") if k.strip()]
    return {hashlib.sha256(k.encode()).hexdigest() for k in plain} | {h.lower() for h in settings.serving.api_key_sha256}


class Runtime:
    """What the routes share: settings, decider, appenders, metrics, load signals."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.keys = key_hashes(settings)
        self.in_flight = 0
        self.loop_lag_s = 0.0
        self.decider: Decider | None = None
        self.audit = JsonlAppender(settings.serving.audit_dir, "decisions")
        self.spool: dict[str, JsonlAppender] = {}
        self.started = time.time()

    def spool_writer(self, stream: str) -> JsonlAppender:
        if stream not in self.spool:
            self.spool[stream] = JsonlAppender(os.path.join(self.settings.paths.spool, stream), "api")
        return self.spool[stream]

    async def start(self) -> None:
        s = self.settings
        store = open_store(s)
        await store.refresh()
        models = await asyncio.to_thread(load_models, s)
        enricher = await asyncio.to_thread(Enricher.load, s)
        self.decider = Decider(s, store, models, enricher)
        settle_heap()
        self.metrics.set_model(models.version)
        self._set_snapshot_metric()
        if not self.keys:
            log.warning("no API keys configured (ATO_API_KEYS or serving.api_key_sha256): every /v1 call gets 401")
        log.info("serving: store=%s snapshot=%s champion=%s keys=%d", store.name, store.as_of, models.version,
                 len(self.keys))

    def _set_snapshot_metric(self) -> None:
        if self.decider and self.decider.store.as_of:
            self.metrics.snapshot.set(snapshot_cutoff_s(self.decider.store.as_of))

    async def reload_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.serving.reload_s)
            if self.decider is None:
                continue
            try:
                for what in await self.decider.reload():
                    log.info("picked up %s", what)
                    self.metrics.reloads.labels(what.split()[0]).inc()
                    settle_heap()
                self.metrics.set_model(self.decider.models.version)
                self._set_snapshot_metric()
            except Exception as exc:  # a broken new snapshot or model: keep serving the old one
                log.error("reload failed, still serving the previous snapshot/model: %s: %s", type(exc).__name__, exc)

    async def lag_loop(self, every_s: float = 0.005) -> None:
        """Event-loop lag: how long a ready callback waits, i.e. how far behind requests are. The
        smaller of the last two samples counts, so one long task (a big /v1/events batch) does not
        read as overload; a queue of requests delays every sample."""
        last = 0.0
        while True:
            t = time.perf_counter()
            await asyncio.sleep(every_s)
            lag = max(time.perf_counter() - t - every_s, 0.0)
            self.loop_lag_s, last = min(lag, last), lag

    def overloaded(self) -> int:
        """The in-flight count the chain compares with max_in_flight (lag over the limit counts as full)."""
        if self.loop_lag_s * 1000 > self.settings.serving.shed_lag_ms:
            return self.settings.serving.max_in_flight + 1
        return self.in_flight

    async def stop(self) -> None:
        if self.decider:
            await self.decider.store.close()
        self.audit.close()
        for a in self.spool.values():
            a.close()


def settle_heap() -> None:
    """Move the loaded snapshot, models and reference data out of the garbage collector's sight:
    they live until the next reload, and scanning them in every full collection shows up as
    multi-millisecond pauses at p99. Young generations collect less often for the same reason."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def configure_logging() -> None:
    """Our logger beside uvicorn's: INFO lines on stderr (never request bodies or identifiers)."""
    root = logging.getLogger("ato")
    if not root.handlers:
        h = logging.StreamHandler()
        h.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        root.addHandler(h)
        root.setLevel(logging.INFO)
        root.propagate = False


def readiness_problems(rt: Runtime) -> list[str]:
    d = rt.decider
    if d is None:
        return ["starting"]
    out = []
    if d.models.version is None:
        out.append("no champion model (run `ato train --promote`)")
    if d.store.as_of is None:
        out.append("no snapshot in the online store (nightly publish, or `ato publish --to redis`)")
    max_h = rt.settings.serving.max_snapshot_age_h
    if d.store.as_of and max_h and time.time() - snapshot_cutoff_s(d.store.as_of) > max_h * 3600:
        out.append(f"snapshot {d.store.as_of} is older than {max_h} h")
    return out
