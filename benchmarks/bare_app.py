"""The reference endpoint for benchmarks/serving.py: FastAPI + the same request model + the same
LightGBM booster predicting one fixed row. No store, no features, no audit, no auth.

Run: BARE_MODEL=data/models/<version>/model.txt uvicorn benchmarks.bare_app:create_app --factory
"""

from __future__ import annotations

import os

import lightgbm as lgb
import numpy as np
from fastapi import FastAPI

from serving.schemas import ScoreRequest


def create_app() -> FastAPI:
    booster = lgb.Booster(model_file=os.environ["BARE_MODEL"])
    row = np.full((1, booster.num_feature()), 0.5)
    app = FastAPI(title="bare")

    @app.post("/v1/score")
    async def score(req: ScoreRequest) -> dict[str, float]:
        return {"risk_score": float(booster.predict(row)[0])}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
