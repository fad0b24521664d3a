"""What the routes share at run time: settings, the decider, the audit and spool appenders, metrics,
the load signals (requests in flight, event-loop lag), readiness and the background loops.

Whatever `create_app` was not handed (models, store, enricher, API keys) is loaded from conf and
disk when the service starts, and only that is reloaded when a new champion or snapshot appears.
The service starts without its online store (degraded, level 1) and picks it up once it answers.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ato.model.registry import champion
from ato.online.decide.appender import JsonlAppender
from ato.online.decide.attack import AttackStatus
from ato.online.decide.chain import Decider
from ato.online.decide.decision import FALLBACK, MODEL, RULES
from ato.online.decide.enrich import Enricher
from ato.online.decide.models import Models, load_models, wanted
from ato.online.decide.records import snapshot_cutoff_s
from ato.online.decide.store import EmbeddedStore, OnlineStore, open_store
from ato.online.key_check import check_key
from ato.online.keys import KeyRing
from ato.online.sensitive import ActionBook, ActionScorer, load_action_model
from ato.online.snapshot.files import published_as_of, read_action_states
from ato.settings import Settings
from serving.metrics import Metrics

log = logging.getLogger("ato.serving")
PING_S = 0.5  # a store that does not answer a ping this fast is down for /readyz


@dataclass(frozen=True)
class Given:
    """The dependencies handed to `create_app` (None: loaded from disk, and reloaded)."""

    models: Models | None = None
    store: OnlineStore | None = None
    enricher: Enricher | None = None
    replica: EmbeddedStore | None = None  # with a shared store: this worker's snapshot copy (None: from disk)


class Runtime:
    """What the routes share: settings, decider, appenders, metrics, load signals."""

    def __init__(self, settings: Settings, given: Given | None = None,
                 api_keys: Collection[str] | KeyRing | None = None) -> None:
        self.settings = settings
        self.given = given or Given()
        self.metrics = Metrics()
        self.keyring = (KeyRing.from_settings(settings) if api_keys is None else
                        api_keys if isinstance(api_keys, KeyRing) else KeyRing.plain(api_keys))
        self._failed_at: dict[str, float] = {}
        self._key_checked: tuple[str | None, str | None] | None = None  # (snapshot, champion) whose key matched
        self.hmac_key = b""  # the key requests are hashed with (`check_key`), set at start
        self.in_flight = 0
        self.loop_lag_s = 0.0
        self.decider: Decider | None = None
        self.audit = JsonlAppender(settings.serving.audit_dir, "decisions")
        self.action_audit = JsonlAppender(settings.serving.audit_dir, "actions")  # /v1/actions/score
        self.action_scorer: ActionScorer | None = None
        self.spool: dict[str, JsonlAppender] = {}
        self.started = time.time()

    @property
    def chain(self) -> Decider:
        """The decider (routes run only once the service has started)."""
        if self.decider is None:
            raise RuntimeError("the service has not started")
        return self.decider

    @property
    def actions(self) -> ActionScorer:
        """The sensitive-action scorer (routes run only once the service has started)."""
        if self.action_scorer is None:
            raise RuntimeError("the service has not started")
        return self.action_scorer

    def observe_login(self, account: str, time_s: float, success: bool, device: str | None,
                      ip: str | None) -> None:
        """A login scored or reported: a successful one opens a session for the account's actions."""
        if success and self.action_scorer is not None:
            self.action_scorer.book.observe_login(account, time_s, device, ip)

    def spool_writer(self, stream: str) -> JsonlAppender:
        if stream not in self.spool:
            self.spool[stream] = JsonlAppender(os.path.join(self.settings.paths.spool, stream), "api")
        return self.spool[stream]

    def append(self, appender: Any, record: dict[str, Any] | bytes, what: str, at: datetime | None = None) -> bool:
        """Append to the audit log or a spool file (in the file of `at`'s UTC day; default: now); a failure
        is counted and logged (its type, at most once a second per kind) and reported as False, never
        raised: the caller still answers."""
        try:
            appender.append(record, at)
            return True
        except Exception as exc:
            self.metrics.write_failures.labels(what).inc()
            now = time.monotonic()
            if now - self._failed_at.get(what, -1e9) >= 1.0:
                self._failed_at[what] = now
                log.error("%s write failed: %s", what, type(exc).__name__)
            return False

    async def start(self) -> None:
        s, g = self.settings, self.given
        # refuse to start with another key than the batch layer's (no hash would match); during a
        # rotation, hash with the key of the published snapshot
        self.hmac_key = check_key(s)
        self._key_checked = (published_as_of(s), champion(s))
        try:
            store = open_store(s) if g.store is None else g.store
        except Exception as exc:  # an unreadable published snapshot: start without one, the reload retries
            log.error("online store could not open (%s): starting without a snapshot", type(exc).__name__)
            store = EmbeddedStore(None, {"account": {}, "ip": {}, "device": {}}, s)
        try:
            await asyncio.wait_for(store.refresh(), max(s.serving.store_timeout_ms / 1000 * 4, 1.0))
        except Exception as exc:  # Redis down at start: decide without it; the reload loop picks it up
            log.warning("online store unavailable at start (%s): serving degraded until it answers",
                        type(exc).__name__)
        models = await asyncio.to_thread(load_models, s) if g.models is None else g.models
        enricher = await asyncio.to_thread(Enricher.load, s, self.hmac_key) if g.enricher is None else g.enricher
        self.decider = Decider(s, store, models, enricher, replica=await self._replica(store))
        try:
            book = await asyncio.to_thread(ActionBook.load, s)
        except Exception as exc:  # as for the store: start without the snapshot's states
            log.error("action states could not be read (%s): starting without them", type(exc).__name__)
            book = ActionBook()
        self.action_scorer = ActionScorer(s, book, await asyncio.to_thread(load_action_model, s), champion(s),
                                          self.hmac_key)
        self.decider.policy.attack.on_change = self._attack_changed
        settle_heap()
        self.metrics.set_model(models.version)
        self.metrics.set_attack(False, [])
        self._set_snapshot_metric()
        if not self.keyring:
            log.warning("no API keys configured (ATO_API_KEYS, api.keys or serving.api_key_sha256): "
                        "every /v1 call gets 401")
        log.info("serving: store=%s snapshot=%s champion=%s keys=%d guardrails=%d", store.name, store.as_of,
                 models.version, len(self.keyring), len(self.decider.policy.guardrails.guardrails))

    async def _replica(self, store: OnlineStore) -> EmbeddedStore | None:
        """With Redis, this worker's in-memory copy of the published snapshot (conf permitting)."""
        if self.given.replica is not None:
            return self.given.replica
        if store.name != "redis" or not self.settings.serving.snapshot_replica:
            return None
        try:
            return await asyncio.to_thread(EmbeddedStore.load, self.settings)
        except Exception as exc:  # no files here: a Redis failure falls back to the fallback model
            log.warning("no snapshot replica (%s): a Redis failure is decided by the fallback model",
                        type(exc).__name__)
            return None

    def _attack_changed(self, status: AttackStatus) -> None:
        self.metrics.set_attack(status.on, ["global"] * status.global_on + sorted(status.networks))

    async def policy_loop(self) -> None:
        """Attack mode ends even when no login arrives to notice it."""
        while True:
            await asyncio.sleep(self.settings.policy.attack_eval_s)
            if self.decider is not None:
                self.decider.policy.attack.tick()
                self.metrics.breaker_open.set(int(self.chain.breaker.state != "closed"))

    def _set_snapshot_metric(self) -> None:
        if self.decider and self.decider.store.as_of:
            self.metrics.snapshot.set(snapshot_cutoff_s(self.decider.store.as_of))

    async def reload(self) -> list[str]:
        """Pick up a new snapshot (with the reputation feed) or champion; returns what changed."""
        d, s, changed, rekeyed = self.chain, self.settings, [], False
        made = (published_as_of(s), champion(s))
        if made != self._key_checked:  # a snapshot or champion made under another key is not picked up
            key = check_key(s)  # (reload_loop logs it, and checks again next time)
            self._key_checked = made
            if key != self.hmac_key:  # a rotation: the first snapshot made under the new key
                self.hmac_key = self.actions.key = key
                rekeyed = True
                changed.append(f"key of snapshot {made[0]}")
        if d.replica is not None:
            try:  # a bad replica load must not hold back the store's snapshot or a new champion
                await d.replica.refresh()
            except Exception as exc:
                log.warning("snapshot replica refresh failed (%s): keeping %s", type(exc).__name__, d.replica.as_of)
        refreshed = await d.store.refresh()
        if (refreshed or rekeyed) and self.given.enricher is None:
            d.enricher = await asyncio.to_thread(Enricher.load, s, self.hmac_key)
        if refreshed:
            changed.append(f"snapshot {d.store.as_of}")
        acts = self.actions
        published = published_as_of(s)  # the action states are read from the published files, whatever the store
        if published is not None and published != acts.book.as_of:
            as_of, states = await asyncio.to_thread(read_action_states, s)
            acts.book = acts.book.rebased(as_of, states)  # same-day folds carried over, in this loop
        if self.given.models is None and wanted(s) != (d.models.version, d.models.shadow_version):
            d.models = await asyncio.to_thread(load_models, s)
            changed.append(f"champion {d.models.version}" + (f", shadow {d.models.shadow_version}"
                                                               if d.models.shadow_version else ""))
        if self.given.models is None and champion(s) != acts.model_for:
            acts.model_for = champion(s)
            acts.model = await asyncio.to_thread(load_action_model, s)
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

    async def readiness(self) -> tuple[int | None, list[str]]:
        """(best chain level reachable now: 0 model on the full vector, 1 fallback model, 2 rules; None
        while starting) and what keeps it from level 0."""
        d = self.decider
        if d is None:
            return None, ["starting"]
        down: list[str] = []  # the store's problem, which a snapshot replica makes up for
        out: list[str] = []  # the others
        store_ok = True
        try:
            await asyncio.wait_for(d.store.ping(), PING_S)
        except Exception as exc:
            replica = d.replica.as_of if d.replica is not None else None
            store_ok = replica is not None  # the model still decides, on the replica's rows
            down.append(f"store down ({type(exc).__name__})" + (
                f": the model decides on the snapshot replica {replica} and this worker's velocities" if replica else ""))
        if d.models.version is None:
            out.append("no champion model (run `ato train --promote`)")
        if d.store.as_of is None:
            out.append("no snapshot in the online store (nightly publish, or `ato publish --to redis`)")
        max_h = self.settings.serving.max_snapshot_age_h
        if d.store.as_of and max_h and time.time() - snapshot_cutoff_s(d.store.as_of) > max_h * 3600:
            out.append(f"snapshot {d.store.as_of} is older than {max_h} h")
        if d.models.model is not None and store_ok and not out:
            return MODEL, down
        return (FALLBACK if d.models.fallback is not None else RULES), down + out

    async def stop(self) -> None:
        if self.decider:
            await self.decider.drain()
            await self.decider.store.close()
        self.audit.close()
        self.action_audit.close()
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
