"""Which day `ato replay` replays without --date: the last silver login day (not the first, which
has no day before it to publish a snapshot of) whose ground truth has a successful takeover, read
from one pass over the ground truth; else the last day. No JVM: the logins table is written with
delta-rs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from ato import deltars
from ato.online.replay.run import default_day, truth_of_day
from ato.settings import Settings, load_settings
from ato.tables import LOGINS

pytestmark = pytest.mark.unit

DAYS = [date(2026, 8, d) for d in (1, 2, 3, 4)]


def lake_with_logins(tmp_path: Path) -> Settings:
    settings = load_settings(environ={"ATO_LAKE_ROOT": str(tmp_path / "lake")})
    deltars.write(settings, "silver", LOGINS, pa.table({"event_id": [f"e{d.day}" for d in DAYS], "event_date": DAYS}),
                  partition_by=["event_date"])
    return settings


def truth(*rows: tuple[date, str, str | None]) -> pd.DataFrame:
    return pd.DataFrame({"event_id": [f"t{i}" for i in range(len(rows))],
                         "event_time": pd.to_datetime([f"{d}T12:00:00Z" for d, _, _ in rows], utc=True),
                         "outcome": [o for _, o, _ in rows], "attack_type": [a for _, _, a in rows]})


def test_the_last_day_with_a_successful_takeover_is_replayed(tmp_path: Path) -> None:
    settings = lake_with_logins(tmp_path)
    t = truth((DAYS[1], "success", "credential_stuffing"), (DAYS[2], "failure", "credential_stuffing"),
              (DAYS[3], "success", None))
    assert default_day(settings, t) == DAYS[1], "a failed attack or a legit login does not make the day"
    day = truth_of_day(t, DAYS[2])
    assert day is not None and list(day["event_id"]) == ["t1"] and truth_of_day(None, DAYS[2]) is None


def test_without_a_takeover_after_the_first_day_or_without_truth_the_last_day(tmp_path: Path) -> None:
    settings = lake_with_logins(tmp_path)
    assert default_day(settings, truth((DAYS[0], "success", "phishing"))) == DAYS[-1], "the first day has no eve"
    assert default_day(settings, None) == DAYS[-1]


def test_one_day_of_logins_is_refused(tmp_path: Path) -> None:
    settings = load_settings(environ={"ATO_LAKE_ROOT": str(tmp_path / "lake")})
    deltars.write(settings, "silver", LOGINS, pa.table({"event_id": ["e"], "event_date": DAYS[:1]}),
                  partition_by=["event_date"])
    with pytest.raises(ValueError, match="two days of silver logins"):
        default_day(settings, None)
