"""Fixtures of the in-process API tests: the tiny champion (trained once per run) and per-test settings."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato.online.decide.models import Models
from ato.settings import Settings
from tests.api.builders import api_settings, tiny_models


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    return tiny_models(api_settings(tmp_path_factory.mktemp("tiny-model")))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return api_settings(tmp_path)


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every log line written while the test runs (our `ato` loggers and everything else)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    h = Keep(logging.DEBUG)
    loggers = [logging.getLogger("ato"), logging.getLogger()]
    for lg in loggers:
        lg.addHandler(h)
    yield lines
    for lg in loggers:
        lg.removeHandler(h)
