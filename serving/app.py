"""The API: `create_app()` builds it (uvicorn runs `serving.app:create_app` as a factory).

Routes (`serving.routes`) are thin: validation (pydantic, 422 with a message; well-formed scoring
requests take a compiled validator in `serving.fast_score`), auth, scopes and body limits
(`serving.auth`), then `ato.online.decide.chain.Decider` (and its policy: guardrails, attack
mode). Background tasks pick up new snapshots and champions (`serving.reload_s`), watch event-loop
lag, which, with the in-flight count, decides when to shed to the rules, and end attack mode when it
is over. /metrics and the docs go where `api.metrics`/`api.docs` say (`serving.admin`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from ato.online.decide.enrich import Enricher
from ato.online.decide.models import Models
from ato.online.decide.store import EmbeddedStore, OnlineStore
from ato.online.keys import KeyRing
from ato.settings import Settings, load_settings
from serving.admin import AdminServer, add_public_metrics, admin_app
from serving.auth import ApiKeyAuth, add_security_scheme
from serving.errors import unprocessable
from serving.fast_score import score_handler
from serving.routes import ROUTERS
from serving.runtime import Given, Runtime, configure_logging


def create_app(settings: Settings | None = None, *, models: Models | None = None, store: OnlineStore | None = None,
               enricher: Enricher | None = None, api_keys: Collection[str] | KeyRing | None = None,
               replica: EmbeddedStore | None = None) -> FastAPI:
    """The scoring API. What is not given comes from conf and disk when the service starts, and is
    reloaded when a new one is published: the champion (`models`), the online store (`store`: the
    published snapshot in process, or Redis), the geo database and reputation feed (`enricher`),
    the accepted keys (`api_keys`: plain keys with every scope, or a `KeyRing`; default
    ATO_API_KEYS, `api.keys` and `serving.api_key_sha256`) and, with a shared store, the worker's
    snapshot replica (`replica`; default the published files, `serving.snapshot_replica`)."""
    configure_logging()
    rt = Runtime(settings or load_settings(), Given(models, store, enricher, replica), api_keys)
    public_docs = rt.settings.api.docs == "public"

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.start()
        admin = AdminServer(app.state.admin, rt.settings.api.admin_host, rt.settings.api.admin_port or 0) \
            if app.state.admin is not None else None
        if admin is not None:
            admin.start()
        tasks = [asyncio.create_task(rt.reload_loop()), asyncio.create_task(rt.lag_loop()),
                 asyncio.create_task(rt.policy_loop())]
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            if admin is not None:
                await admin.stop()
            await rt.stop()

    app = FastAPI(title="ato-risk", version="1", lifespan=lifespan,
                  description="Account-takeover risk scoring: a decision for every login attempt.",
                  docs_url="/docs" if public_docs else None, redoc_url="/redoc" if public_docs else None,
                  openapi_url="/openapi.json" if public_docs else None)
    app.state.rt = rt
    app.add_middleware(ApiKeyAuth, rt=rt, fast={"/v1/score": score_handler(rt)})
    add_security_scheme(app)
    app.add_exception_handler(RequestValidationError, unprocessable)
    for router in ROUTERS:
        app.include_router(router)
    add_public_metrics(app, rt)
    app.state.admin = admin_app(rt, app)
    return app
