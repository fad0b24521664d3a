"""The decision chain: primary model on the full vector -> fallback model on what the request tells
and the velocity windows (when the store fails, times out or its breaker is open, or the model
fails, or the budget is spent) -> rules. Under overload (too many requests in flight) it sheds: the
shared store is skipped, and the model decides on the snapshot replica (with Redis) or the rules on
the request (level 3 either way).

With Redis, a worker's replica of the published snapshot (`serving.snapshot_replica`) keeps the primary
model answering (level 0, `store_error` set) when Redis fails, on its rows and this worker's counters.

Every well-formed login gets a decision; the level says which link gave it. The policy
(`ato.online.decide.policy`: guardrails, attack mode) then runs on it, whichever link answered. Whatever the link,
the vector carries the velocities this process counted itself (`local_speed`) when the store's
are out of reach, so the rules still see a stuffing wave while shedding or without the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ato.features.request import LoginSignals
from ato.model.bundle import Scorer
from ato.online.decide.breaker import Background, Breaker, BreakerOpenError, retrieve
from ato.online.decide.clock import ServerClock
from ato.online.decide.cooperative import in_steps
from ato.online.decide.decision import FALLBACK, MODEL, RULES, SHED, Decision, Shadow
from ato.online.decide.enrich import Enricher
from ato.online.decide.local_speed import LocalSpeed
from ato.online.decide.models import Models
from ato.online.decide.policy import Policy
from ato.online.decide.records import LiveLogin, new_id
from ato.online.decide.store import EmbeddedStore, OnlineStore
from ato.online.decide.vector import (
    Vector,
    fallback_view,
    feature_vector,
    live_login,
    request_vector,
)
from ato.settings import Settings

log = logging.getLogger("ato.serving")
MODEL_RESERVE_S = 0.002  # budget kept for scoring once the store has answered


class Decider:
    """Holds the live models, reference data and store; `decide` is called per request. The serving
    runtime swaps `models`, `enricher` (and the store's snapshot) when new ones are published."""

    def __init__(self, settings: Settings, store: OnlineStore, models: Models, enricher: Enricher,
                 policy: Policy | None = None, replica: EmbeddedStore | None = None) -> None:
        self.settings = settings
        self.conf = settings.serving
        self.store, self.models, self.enricher = store, models, enricher
        self.clock = ServerClock.from_conf(self.conf)
        self.policy = policy or Policy.load(settings, self.clock.now)  # attack mode runs on server time
        self.breaker = Breaker(self.conf.breaker_failures, self.conf.breaker_open_s)
        # this process's own windows: the embedded store's, or (Redis) what this worker has seen
        # (with a snapshot replica, its counters: they also keep the account's recent successes)
        self.replica = replica if store.name != "embedded" else None
        own = getattr(store, "speed", None) if self.replica is None else self.replica.speed
        self.local_speed: LocalSpeed = own if isinstance(own, LocalSpeed) else LocalSpeed(settings.speed, recent=False)
        self._local_is_store = self.replica is None and isinstance(own, LocalSpeed)
        self.background = Background(self.breaker)  # store calls nobody waits for any more
        self._warned_at = -1e9

    async def decide(self, attempt: dict[str, Any], time_s: float, in_flight: int) -> Decision:
        """The chain's decision, then the policy on top of it."""
        return self._guard(await self._chain(attempt, time_s, in_flight))

    def _guard(self, d: Decision) -> Decision:
        j = self.policy.judge(d.full if d.full is not None else d.features, d.fallback_level, d.login, d.action,
                              d.risk_score, d.tiers, self.local_speed, self.clock.now(),
                              local=d.local_velocity and not self._local_is_store)
        d.model_action = d.action
        d.action, d.reasons, d.guardrails = j.action, j.reasons + d.reasons, j.names
        return d

    async def _chain(self, attempt: dict[str, Any], time_s: float, in_flight: int) -> Decision:
        t0 = time.perf_counter()
        budget = self.conf.budget_ms / 1000
        models, enricher = self.models, self.enricher  # one consistent set even if a reload swaps them
        e = enricher.enrich(attempt["account_id"], time_s, attempt["outcome"], attempt["channel"], attempt["ip"],
                            attempt["user_agent"], attempt.get("device_id"),
                            {k: attempt.get(k) for k in ("country", "city", "latitude", "longitude", "asn")})
        login = live_login(e, attempt.get("event_id") or new_id())
        now = self.clock.observe(time_s)
        if in_flight > self.conf.max_in_flight:
            return await self._shed(models, e, login, now, t0)
        vec: Vector | None = None
        store_error, as_of, lk = None, None, None
        notes: list[str] = []
        if self.breaker.allow():
            try:
                if self.store.name == "embedded":  # in process: cannot stall, no timer needed
                    lk = await self.store.lookup(login, now)
                else:
                    timeout = min(self.conf.store_timeout_ms / 1000, max(budget - MODEL_RESERVE_S, 0.0005))
                    lk = await self.background.within(lambda: self.store.lookup(login, now), timeout)
                    self.local_speed.record(login, now)
                self.breaker.success()
            except Exception as exc:  # any store failure means: decide without it
                self.breaker.failure()
                store_error = type(exc).__name__
                self._warn(f"online store failed ({store_error}); circuit breaker {self.breaker.state}")
        else:
            store_error = "BreakerOpen"
        if lk is None:
            lk = await self._from_replica(login, now, notes)
        if lk is not None:
            as_of = lk.as_of
            try:  # a failure here is ours, not the store's: no breaker count
                vec = feature_vector(e, lk, login)
            except Exception as exc:
                log.error("feature vector failed: %s", type(exc).__name__)
                notes.append(f"features failed: {type(exc).__name__}")
        if vec is not None and models.model is not None:
            # (a replica's vector is in process: the fallback would cost the model's time, knowing less)
            if store_error is None and time.perf_counter() - t0 > budget - MODEL_RESERVE_S:
                notes.append("budget spent in the store")
            else:
                try:
                    d = self._model(models.model, vec, login, MODEL, models.version or "", t0, as_of)
                    if models.shadow is not None:
                        self._shadow(models, vec, d, t0)
                    if store_error is not None:  # the replica's rows and this worker's velocities
                        d.store_error, d.notes, d.local_velocity = store_error, notes, True
                    return d
                except Exception as exc:
                    log.error("primary model failed: %s", type(exc).__name__)
                    notes.append(f"model failed: {type(exc).__name__}")
        # no store (or only the replica): the request's own signals and this process's velocities
        local = vec is None or store_error is not None
        if vec is None:
            vec = self._with_local_speed(request_vector(e), login, now)
        if models.fallback is not None:
            try:
                # request signals and velocities: the store's or the replica's (model failed) or this process's
                fvec = vec if lk is None else fallback_view(vec)
                d = self._model(models.fallback, fvec, login, FALLBACK, f"{models.version}/fallback", t0, as_of)
                d.store_error, d.notes, d.full, d.local_velocity = store_error, notes, vec, local
                return d
            except Exception as exc:
                log.error("fallback model failed: %s", type(exc).__name__)
        d = self._rules(models, vec, login, RULES, t0, as_of, store_error)
        d.local_velocity = local
        return d

    async def _shed(self, models: Models, e: Any, login: LiveLogin, now: float, t0: float) -> Decision:
        """Too many requests in flight: the shared store is skipped (the login still goes into it,
        later). With a snapshot replica the primary model decides on its rows and this worker's
        counts, so a stuffing wave's valid credentials still meet the account's history; without
        one, the rules on the request and those counts (level 3 either way)."""
        if not self._local_is_store:
            self._record_later(login, now)
        notes = ["shed: too many requests in flight"]
        model = models.model
        lk = await self._from_replica(login, now, notes) if model is not None else None
        if lk is None or model is None:
            vec = self._with_local_speed(request_vector(e), login, now)
        else:  # the replica's lookup has counted the login in this worker's windows
            try:
                vec = feature_vector(e, lk, login)
                d = self._model(model, vec, login, SHED, models.version or "", t0, lk.as_of)
                d.notes, d.local_velocity = notes, True
                return d
            except Exception as exc:
                log.error("shed decision on the replica failed: %s", type(exc).__name__)
                vec = self._with_local_speed(request_vector(e), login, now, record=False)
        d = self._rules(models, vec, login, SHED, t0, None, None)
        d.notes, d.local_velocity = notes, True
        return d

    async def _from_replica(self, login: LiveLogin, now: float, notes: list[str]) -> Any:
        """The replica's lookup (it records the login in this worker's counters), or None."""
        if self.replica is None or self.replica.as_of is None:
            return None
        try:
            lk = await self.replica.lookup(login, now)
        except Exception as exc:
            log.error("snapshot replica failed: %s", type(exc).__name__)
            return None
        notes.append(f"snapshot replica {lk.as_of} with this worker's velocities")
        return lk

    def _with_local_speed(self, vec: Vector, login: LiveLogin, now: float, record: bool = True) -> Vector:
        """The vector with this process's own window counts of the login's keys; then counts it here
        (unless `record` is False: already counted). Best effort: counters that fail leave the
        velocity unknown, which the guardrails step up."""
        try:
            vec.update(self.local_speed.features(login, now))
            if record:
                self.local_speed.record(login, now)
        except Exception as exc:
            self._warn(f"local speed layer failed ({type(exc).__name__}); velocity unknown")
        return vec

    def _model(self, scorer: Scorer, vec: Vector, login: LiveLogin, level: int, version: str, t0: float,
               as_of: str | None) -> Decision:
        p, action, x = scorer.score_row(vec)
        reasons = scorer.row_reasons(x, self.conf.reasons) if action != "allow" and self.conf.reasons else []
        return Decision(p, action, reasons, level, version, (time.perf_counter() - t0) * 1000, vec, login, as_of,
                        tiers=scorer.tiers)

    def _shadow(self, models: Models, vec: Vector, d: Decision, t0: float) -> None:
        """The challenger on the champion's vector, into `d.shadow` (never its answer). Skipped when the
        decision is already slow (and never under shedding: not called there); a failure is logged only."""
        if (time.perf_counter() - t0) * 1000 > self.conf.shadow_skip_after_ms:
            return
        try:
            p, action, _ = models.shadow.score_row(vec)  # type: ignore[union-attr]
            d.shadow = Shadow(models.shadow_version or "", p, action)
        except Exception as exc:
            self._warn(f"shadow model failed ({type(exc).__name__}); the champion's answer stands")
        d.latency_ms = (time.perf_counter() - t0) * 1000  # what the request waited, shadow included

    def _rules(self, models: Models, vec: Vector, login: LiveLogin, level: int, t0: float, as_of: str | None,
               store_error: str | None) -> Decision:
        r = models.rules.score_row(vec)
        return Decision(r.score, r.action, r.reasons, level, "rules", (time.perf_counter() - t0) * 1000, vec, login,
                        as_of, store_error)

    def _warn(self, message: str, every_s: float = 1.0) -> None:
        """A warning at most once a second (a store outage must not flood the log)."""
        now = time.monotonic()
        if now - self._warned_at >= every_s:
            self._warned_at = now
            log.warning(message)

    def last_resort(self, attempt: dict[str, Any], time_s: float) -> Decision:
        """When the chain itself broke: the rules on what the request says outright."""
        t0 = time.perf_counter()
        vec: Vector = {"outcome": attempt.get("outcome"), "channel": attempt.get("channel")}
        login = LiveLogin({"account": attempt.get("account_id"), "ip": None, "prefix": None, "device": None},
                          LoginSignals(time_s, attempt.get("outcome") == "success"))
        return self._guard(self._rules(self.models, vec, login, RULES, t0, None, "ChainFailed"))

    def _record_later(self, login: LiveLogin, now: float) -> None:
        """Shed requests still count in the shared speed layer (stuffing is when overload happens)."""
        self.background.spawn(lambda: self._record([login], now))

    async def drain(self) -> None:
        """At shutdown: shed logins' speed-layer writes finish, timed-out lookups are cancelled."""
        await self.background.drain()

    async def _record(self, logins: list[LiveLogin], now: float) -> None:
        try:  # nobody waits for it: no timer (cancelling a Redis call drops its connection)
            await self.store.record(logins, now)
        except Exception as exc:
            log.warning("speed layer write failed: %s", type(exc).__name__)

    async def record(self, logins: list[LiveLogin]) -> None:
        """/v1/events: logins known from elsewhere, into the speed layer, once per event id (this
        process's own windows always; raises when the store cannot take them). Each login new to this
        process (not scored or reported here before) also feeds attack mode."""
        now = self.clock.now()
        for x in logins:
            now = self.clock.observe(x.signals.time_s)
        fed = False
        async for x in in_steps(logins):
            if self.local_speed.record(x, now):
                self.policy.observe(x)
                fed = True
        if fed:  # a batch shares one server time: its logins are weighed together now, not at the next tick
            self.policy.attack.tick(now)
        if self._local_is_store:  # the embedded store: its windows are the ones just written
            return
        if not self.breaker.allow():
            raise BreakerOpenError("the online store's circuit breaker is open")
        task = asyncio.ensure_future(self.store.record(logins, now))
        task.add_done_callback(retrieve)
        try:  # past the timeout the write is answered as failed but left to finish, not cancelled
            await asyncio.wait_for(asyncio.shield(task), max(self.conf.store_timeout_ms / 1000 * 4, 0.05))
            self.breaker.success()
        except Exception:
            self.breaker.failure()
            if not task.done():
                self.background.leave_running(task, self.background.pending)
            raise
