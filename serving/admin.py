"""Where /metrics and the docs live (`api.metrics`, `api.docs`): on the public port (metrics for keys
with the admin scope, docs open), on a separate admin port, or nowhere.

The admin port is a second uvicorn server inside each worker's event loop, bound with SO_REUSEPORT so
`ato serve --workers N` works (any worker answers: metrics are summed over workers anyway). Bind it to
an interface the public cannot reach (`api.admin_host`, loopback by default): it takes no key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from serving.runtime import Runtime
from serving.workers import listening_socket

log = logging.getLogger("ato.serving")


def metrics_response(rt: Runtime) -> Response:
    """Prometheus metrics (summed over the workers when there are several)."""
    rt.metrics.in_flight.set(rt.in_flight)
    if rt.decider is not None:
        rt.metrics.set_speed(rt.decider.local_speed.stats())
    return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def add_public_metrics(app: FastAPI, rt: Runtime) -> None:
    """/metrics on the public port when conf says so (`serving.auth` checks the admin scope)."""
    if rt.settings.api.metrics != "admin_scope":
        return

    @app.get("/metrics", responses={401: {"description": "Missing or invalid key"},
                                    403: {"description": "The key lacks the admin scope"}},
             openapi_extra={"security": [{"ApiKey": []}]})
    async def metrics() -> Response:
        """Prometheus metrics; needs a key with the admin scope."""
        return metrics_response(rt)


def admin_app(rt: Runtime, public: FastAPI) -> FastAPI | None:
    """The admin port's app (/metrics and/or the docs, as conf puts them there); None when it has nothing."""
    api = rt.settings.api
    if api.admin_port is None or "admin_port" not in (api.metrics, api.docs):
        return None
    app = FastAPI(title="ato-risk admin", docs_url=None, redoc_url=None, openapi_url=None)
    if api.metrics == "admin_port":
        @app.get("/metrics")
        async def metrics() -> Response:
            return metrics_response(rt)

    if api.docs == "admin_port":
        @app.get("/openapi.json")
        async def openapi() -> JSONResponse:
            return JSONResponse(public.openapi())

        @app.get("/docs")
        async def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="ato-risk - API docs")
    return app


class _Embedded(uvicorn.Server):
    """A uvicorn server that leaves signals to the main server it runs beside."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class AdminServer:
    """The admin app on `api.admin_host:api.admin_port`, served in the current event loop."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.server = _Embedded(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        sock = listening_socket(self.host, self.port)  # one per worker, any of them answers
        sock.set_inheritable(True)
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]))
        log.info("admin port: http://%s:%d (metrics/docs as conf says)", self.host, self.port)

    async def stop(self) -> None:
        if self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 5)
