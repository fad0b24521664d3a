"""Typed dependencies of the routes: the shared runtime `create_app` put in the app's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serving.runtime import Runtime


async def runtime(request: Request) -> Runtime:
    """The app's runtime (async: FastAPI would run a plain function in a thread pool)."""
    rt: Runtime = request.app.state.rt
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]
