"""What an in-process API test builds the app around: a tiny LightGBM champion trained on synthetic
rows, a snapshot of two accounts held in memory, an enricher without geo or reputation data,
stores with a fault injected on purpose, and a client that talks to the app without a socket."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from fastapi import FastAPI

from ato.contracts import CHANNELS, OUTCOMES
from ato.features.columns import (
    ACCOUNT_FEATURES,
    CATEGORICAL_FEATURES,
    ENTITY_FEATURES,
    FEATURES,
    NUMERIC_FEATURES,
)
from ato.model.bundle import Scorer
from ato.model.calibration import Calibrator
from ato.model.data import FALLBACK_FEATURES, Encoder
from ato.model.rules import load_rules, rules_path
from ato.model.tiers import Tiers
from ato.online.decide.enrich import Enricher
from ato.online.decide.models import Models
from ato.online.decide.records import LiveLogin, Lookup
from ato.online.decide.store import EmbeddedStore, OnlineStore, Tables
from ato.online.keys import KeyRing
from ato.privacy import pseudonymize
from ato.settings import Settings
from serving.app import create_app
from tests.conftest import make_settings

API_KEY = "test-api-key"
OTHER_KEY = "second-key"
AS_OF = "2026-08-05"
VERSION = "tiny-v1"
VOCAB = {"outcome": list(OUTCOMES), "channel": list(CHANNELS), "ua_family": ["chrome", "safari", "script"],
         "os_family": ["ios", "other", "windows"], "device_class": ["bot", "desktop", "mobile"],
         "ip_rep_category": ["botnet", "hosting", "unknown"]}
# Plenty of time for every step: a chain level must never depend on how busy the machine is.
UNHURRIED = {"ATO_SERVING__BUDGET_MS": "60000", "ATO_SERVING__STORE_TIMEOUT_MS": "30000",
             "ATO_SERVING__SHED_LAG_MS": "60000", "ATO_SERVING__SHADOW_SKIP_AFTER_MS": "60000"}
# The tests replay recorded August days: server time is the newest event time seen (not the machine's).
REPLAY_CLOCK = {"ATO_SERVING__CLOCK": "replay"}


def api_settings(root: Path, **env: str) -> Settings:
    """Settings of one test's app: its own spool, audit folder, empty model registry and online dir."""
    own = {"ATO_SPOOL": str(root / "spool"), "ATO_SERVING__AUDIT_DIR": str(root / "audit"),
           "ATO_MODEL_DIR": str(root / "models"), "ATO_ONLINE_DIR": str(root / "online")}
    return make_settings(root, None, **{**own, **UNHURRIED, **REPLAY_CLOCK, **env})


def synthetic_rows(n: int = 600, seed: int = 3) -> pd.DataFrame:
    """Training rows over every model feature: takeovers are script user agents and IPs that failed
    three or more times in the last hour."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({c: rng.integers(0, 6, n).astype(float) for c in NUMERIC_FEATURES})
    for c in CATEGORICAL_FEATURES:
        df[c] = rng.choice(VOCAB[c], n)
    df["is_automation_ua"] = (df["ua_family"] == "script").astype(float)
    df["label"] = ((df["is_automation_ua"] == 1) | (df["ip_failures_1h"] >= 3)).astype(int)
    return df


def tiny_scorer(name: str, features: tuple[str, ...], rows: pd.DataFrame) -> Scorer:
    """A LightGBM booster on `features`, probabilities taken as calibrated, two action tiers."""
    import lightgbm as lgb

    enc = Encoder({c: v for c, v in VOCAB.items() if c in features})
    X = enc.matrix(rows, features)
    params = {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 5, "learning_rate": 0.3, "verbose": -1,
              "seed": 1, "deterministic": True, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(X, rows["label"].to_numpy()), num_boost_round=25)
    return Scorer(name, features, enc, booster, booster.current_iteration(), False,
                  Calibrator((0.0, 1.0), (0.0, 1.0)), Tiers({"step_up_mfa": 0.3, "manual_review": 0.9}))


def tiny_models(settings: Settings) -> Models:
    """The champion the chain uses (model and fallback model) and the analysts' rules from conf."""
    rows = synthetic_rows()
    return Models(VERSION, tiny_scorer("model", FEATURES, rows), tiny_scorer("fallback", FALLBACK_FEATURES, rows),
                  load_rules(rules_path(settings)))


def blind(models: Models) -> Models:
    """The champion with tiers no probability reaches: a model that allows everything, as one that never
    saw a pattern would (what the guardrails must not let through)."""
    assert models.model is not None and models.fallback is not None
    never = Tiers({"step_up_mfa": 2.0})
    return Models(models.version, dataclasses.replace(models.model, tiers=never),
                  dataclasses.replace(models.fallback, tiers=never), models.rules)


def no_models(settings: Settings) -> Models:
    """Before any champion is promoted: only the rules."""
    return Models(None, None, None, load_rules(rules_path(settings)))


def tiny_snapshot(settings: Settings) -> Tables:
    """Two accounts with a month of history (one known device, IP and country each) and the IP row."""
    key, chars = settings.hmac_key_bytes(), settings.privacy.hash_hex_chars

    def account(acct: str, ip: str, device: str) -> dict[str, Any]:
        row: dict[str, Any] = {c: 3.0 for c in ACCOUNT_FEATURES}
        row.update({"account_id": acct, "known_devices": [pseudonymize(key, device, chars)],
                    "known_ips": [pseudonymize(key, ip, chars)], "known_countries": ["US"], "known_asns": [7922],
                    "last_login_s": 1785931200.0, "last_login_lat": 40.7, "last_login_lon": -74.0,
                    "last_login_country": "US", "last_login_asn": 7922, "hour_mean": 12.0, "hour_spread": 2.0})
        return row

    ip_hash = str(pseudonymize(key, "20.0.1.7", chars))
    return {"account": {"acct_0000001": account("acct_0000001", "20.0.1.7", "dev-test-1"),
                        "acct_0000002": account("acct_0000002", "20.0.2.9", "dev-test-2")},
            "ip": {ip_hash: {"ip_hash": ip_hash, **{c: 1.0 for c in ENTITY_FEATURES}}}, "device": {}}


def tiny_store(settings: Settings) -> EmbeddedStore:
    return EmbeddedStore(AS_OF, tiny_snapshot(settings))


def bare_enricher(settings: Settings) -> Enricher:
    """Pseudonymization and user-agent parsing only: no geo database, no reputation feed."""
    return Enricher(settings, None, None)


class FaultyStore:
    """A store that fails on purpose: `raise` refuses every call, `stall` never answers, `gate`
    holds each lookup (and each write with `gate_writes`) until `released` is set (so a test controls
    how many requests are in flight, and when a late call finishes)."""

    name = "faulty"

    def __init__(self, inner: OnlineStore, fault: str, gate_writes: bool = False) -> None:
        self.inner, self.fault, self.gate_writes = inner, fault, gate_writes
        self.entered = asyncio.Event()
        self.released = asyncio.Event()
        self.lookups = 0
        self.finished = 0  # lookups that returned an answer
        self.recorded = 0  # logins whose speed-layer write completed

    @property
    def as_of(self) -> str | None:
        return self.inner.as_of

    async def _fail(self) -> None:
        if self.fault == "raise":
            raise ConnectionError("injected: store refused")
        if self.fault == "stall":
            await asyncio.Event().wait()  # never set: only the chain's timeout ends it

    async def lookup(self, login: LiveLogin, now: float) -> Lookup:
        self.lookups += 1
        await self._fail()
        if self.fault == "gate":
            self.entered.set()
            await self.released.wait()
        answer = await self.inner.lookup(login, now)
        self.finished += 1
        return answer

    async def record(self, logins: list[LiveLogin], now: float) -> None:
        await self._fail()
        if self.fault == "gate" and self.gate_writes:
            await self.released.wait()
        await self.inner.record(logins, now)
        self.recorded += len(logins)

    async def refresh(self) -> bool:
        if self.fault == "raise":  # a store down when the service starts
            raise ConnectionError("injected: store refused")
        return False

    async def ping(self) -> bool:
        await self._fail()
        return True

    async def close(self) -> None:
        await self.inner.close()


def build_app(settings: Settings, models: Models, store: OnlineStore | None = None,
              enricher: Enricher | None = None, keys: KeyRing | None = None) -> FastAPI:
    """`create_app` around the tiny parts (nothing read from disk) with the two test keys (every scope),
    or the given key ring."""
    return create_app(settings, models=models, store=store or tiny_store(settings),
                      enricher=enricher or bare_enricher(settings), api_keys=keys or {API_KEY, OTHER_KEY})


@contextlib.asynccontextmanager
async def serve(app: FastAPI, key: str | None = API_KEY) -> AsyncIterator[httpx.AsyncClient]:
    """The app's lifespan running (start-up, background tasks, shutdown) and a client talking to
    it in process, with `key` in X-API-Key."""
    headers = {"X-API-Key": key} if key else {}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ato.test", headers=headers) as client:
        yield client
