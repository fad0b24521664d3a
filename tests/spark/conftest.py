"""The analysts' lake, built once per run for the views, queries, insights and notebook tests."""

from __future__ import annotations

from typing import Any

import pytest

from ato.settings import Settings
from tests.spark.analyst_lake import analyst_lake


@pytest.fixture(scope="session")
def analyst(spark: Any, backfilled: tuple[Settings, Any], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The backfilled small world copied, with a decision log and the monitor's tables (read-only)."""
    return analyst_lake(spark, backfilled[0], tmp_path_factory.mktemp("analyst"))
