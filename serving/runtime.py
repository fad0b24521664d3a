"""What the routes share at run time: settings, the decider, the audit and spool appenders, metrics,
the load signals (requests in flight, event-loop lag) and the background reload.

Whatever `create_app` was not handed (models, store, enricher, API keys) is loaded from conf and
disk when the service starts, and only that is reloaded when a new champion or snapshot appears.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import os
import time
from collections.abc import Collection
from dataclasses import dataclass

from ato.model.registry import champion
from ato.online.decide.appender import JsonlAppender
from ato.online.decide.chain import Decider, Models, load_models
from ato.online.decide.enrich import Enricher
from ato.online.decide.records import snapshot_cutoff_s
from ato.online.decide.store import OnlineStore, open_store
from ato.settings import Settings
from serving.metrics import Metrics

log = logging.getLogger("ato.serving")


def key_hashes(settings: Settings, environ: dict[str, str] | None = None) -> set[str]:
    """SHA-256 of every accepted key: ATO_API_KEYS (plain, comma-separated) and conf's hashes."""
    env = os.environ if environ is None else environ
    plain = [k.strip() for k in env.get("ATO_API_KEYS", "").split(",") if k.strip()]
    return {hashlib.sha256(k.encode()).hexdigest() for k in plain} | {h.lower() for h in settings.serving.api_key_sha256}


@dataclass(frozen=True)
class Given:
    """The dependencies handed to `create_app` (None: loaded from disk, and reloaded)."""

    models: Models | None = None
    store: OnlineStore | None = None
    enricher: Enricher | None = None


class Runtime:
    """What the routes share: settings, decider, appenders, metrics, load signals."""

    def __init__(self, settings: Settings, given: Given | None = None,
                 api_keys: Collection[str] | None = None) -> None:
        self.settings = settings
        self.given = given or Given()
        self.metrics = Metrics()
        self.keys = key_hashes(settings) if api_keys is None else {hashlib.sha256(k.encode()).hexdigest()
                                                                   for k in api_keys}
        self.in_flight = 0
        self.loop_lag_s = 0.0
        self.decider: Decider | None = None
        self.audit = JsonlAppender(settings.serving.audit_dir, "decisions")
        self.spool: dict[str, JsonlAppender] = {}
        self.started = time.time()

    @property
    def chain(self) -> Decider:
        """The decider (routes run only once the service has started)."""
        if self.decider is None:
            raise RuntimeError("the service has not started")
        return self.decider

    def spool_writer(self, stream: str) -> JsonlAppender:
        if stream not in self.spool:
            self.spool[stream] = JsonlAppender(os.path.join(self.settings.paths.spool, stream), "api")
        return self.spool[stream]

    async def start(self) -> None:
        s, g = self.settings, self.given
        store = open_store(s) if g.store is None else g.store
        await store.refresh()
        models = await asyncio.to_thread(load_models, s) if g.models is None else g.models
        enricher = await asyncio.to_thread(Enricher.load, s) if g.enricher is None else g.enricher
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

    async def reload(self) -> list[str]:
        """Pick up a new snapshot (with the reputation feed) or champion; returns what changed."""
        d, s, changed = self.chain, self.settings, []
        if await d.store.refresh():
            if self.given.enricher is None:
                d.enricher = await asyncio.to_thread(Enricher.load, s)
            changed.append(f"snapshot {d.store.as_of}")
        if self.given.models is None and champion(s) != d.models.version:
            d.models = await asyncio.to_thread(load_models, s)
            changed.append(f"champion {d.models.version}")
        return changed

    async def reload_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.serving.reload_s)
            if self.decider is None:
                continue
            try:
                for what in await self.reload():
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

    def readiness_problems(self) -> list[str]:
        """Why the service is not ready (empty: ready), store ping aside."""
        d = self.decider
        if d is None:
            return ["starting"]
        out = []
        if d.models.version is None:
            out.append("no champion model (run `ato train --promote`)")
        if d.store.as_of is None:
            out.append("no snapshot in the online store (nightly publish, or `ato publish --to redis`)")
        max_h = self.settings.serving.max_snapshot_age_h
        if d.store.as_of and max_h and time.time() - snapshot_cutoff_s(d.store.as_of) > max_h * 3600:
            out.append(f"snapshot {d.store.as_of} is older than {max_h} h")
        return out

    async def stop(self) -> None:
        if self.decider:
            await self.decider.drain()
            await self.decider.store.close()
        self.audit.close()
        for a in self.spool.values():
            a.close()
        gc.unfreeze()  # what `settle_heap` set aside is the collector's again


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
