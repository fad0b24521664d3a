"""The output gate's Great Expectations warm-up (`ato.spark.quality.warm_up`): once per process."""

from __future__ import annotations

import sys

import pytest

from ato.spark.quality import warm_up

pytestmark = pytest.mark.unit


def test_the_warm_up_loads_great_expectations_once_per_process() -> None:
    first = warm_up()
    first.join(timeout=300)
    assert not first.is_alive()
    assert "great_expectations" in sys.modules
    assert warm_up() is first, "a second gate in the same process made a second context"
