"""What ato_retrain trains for and why, from the context Airflow hands its first task."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from ato.dagkit import retrain_why

pytestmark = pytest.mark.unit


def event(night: str, *reasons: str) -> SimpleNamespace:
    return SimpleNamespace(extra={"night": night, "reasons": list(reasons)})


def test_an_asset_triggered_run_trains_for_the_latest_night_its_events_name() -> None:
    run = SimpleNamespace(run_after=datetime(2026, 9, 12, 1, tzinfo=UTC))
    ctx = {"triggering_asset_events": {"ato_retrain_request": [event("2026-09-09", "drift: 6 features"),
                                                               event("2026-09-11", "estimated recall 0.41")]},
           "dag_run": run}  # no "ds": an asset-triggered run has no logical date
    assert retrain_why(ctx) == {"night": "2026-09-11", "reason": "drift: 6 features; estimated recall 0.41"}


def test_a_scheduled_run_trains_for_its_logical_date_and_a_manual_one_for_its_day() -> None:
    run = SimpleNamespace(run_after=datetime(2026, 9, 14, 8, tzinfo=UTC))
    assert retrain_why({"ds": "2026-09-13", "dag_run": run}) == {"night": "2026-09-13",
                                                                  "reason": "weekly schedule or by hand"}
    assert retrain_why({"triggering_asset_events": {}, "dag_run": run})["night"] == "2026-09-14"
