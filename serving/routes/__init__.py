"""The API's routes, one module per concern: `score` (decisions), `actions` (sensitive actions), `events` (events and feedback
into the speed layer and the spool), `status` (model, health, readiness, metrics). Each reaches the
shared `Runtime` through the typed dependency in `deps`."""

from __future__ import annotations

from fastapi import APIRouter

from serving.routes import actions, events, score, status

ROUTERS: tuple[APIRouter, ...] = (score.router, actions.router, events.router, status.router)
