"""The API: `create_app()` builds it (uvicorn runs `serving.app:create_app` as a factory).

Routes (`serving.routes`) are thin: validation (pydantic, 422 with a message), auth
(`serving.auth`), then `ato.online.decide.chain.Decider`. Background tasks pick up new snapshots
and champions (`serving.reload_s`) and watch event-loop lag, which, with the in-flight count,
decides when to shed to the rules.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from ato.online.decide.chain import Models
from ato.online.decide.enrich import Enricher
from ato.online.decide.store import OnlineStore
from ato.settings import Settings, load_settings
from serving.auth import ApiKeyAuth, add_security_scheme
from serving.errors import unprocessable
from serving.routes import ROUTERS
from serving.runtime import Given, Runtime, configure_logging


def create_app(settings: Settings | None = None, *, models: Models | None = None, store: OnlineStore | None = None,
               enricher: Enricher | None = None, api_keys: Collection[str] | None = None) -> FastAPI:
    """The scoring API. What is not given comes from conf and disk when the service starts, and is
    reloaded when a new one is published: the champion (`models`), the online store (`store`: the
    published snapshot in process, or Redis), the geo database and reputation feed (`enricher`),
    and the accepted keys (`api_keys`, plain; default ATO_API_KEYS and `serving.api_key_sha256`)."""
    configure_logging()
    rt = Runtime(settings or load_settings(), Given(models, store, enricher), api_keys)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.start()
        tasks = [asyncio.create_task(rt.reload_loop()), asyncio.create_task(rt.lag_loop())]
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            await rt.stop()

    app = FastAPI(title="ato-risk", version="1", lifespan=lifespan,
                  description="Account-takeover risk scoring: a decision for every login attempt.")
    app.state.rt = rt
    app.add_middleware(ApiKeyAuth, rt=rt)
    add_security_scheme(app)
    app.add_exception_handler(RequestValidationError, unprocessable)
    for router in ROUTERS:
        app.include_router(router)
    return app
