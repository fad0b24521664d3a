"""The API's routes, one module per concern: `score` (decisions), `events` (events and feedback
into the speed layer and the spool), `status` (model, health, readiness, metrics). Each reaches the
shared `Runtime` through the typed dependency in `deps`."""

from __future__ import annotations

from fastapi import APIRouter

from serving.routes import events, score, status

ROUTERS: tuple[APIRouter, ...] = (score.router, events.router, status.router)
