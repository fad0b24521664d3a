"""The publish step's action states on the small world's lake: a night two days after a published
one folds on from that night's states and gives what a fold of the whole window gives."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ato.features.actions import ActionState
from ato.online.snapshot.files import ACTION_KIND, publish
from ato.sensitive.events import account_states
from ato.settings import Settings

pytestmark = pytest.mark.spark
EPOCH = date(1970, 1, 1)


def _canonical(table: Any, as_of: date) -> list[tuple[str, ActionState, date]]:
    out = []
    for a, js, last in zip(*(table[c].to_pylist() for c in ("account_id", "action_state", "last_event_date")),
                           strict=True):
        st = ActionState.from_json(js)
        st._prune((as_of - EPOCH).days)  # what no action after as_of can see anyway
        out.append((a, st, last))
    return out


def test_a_night_folds_on_from_the_states_published_two_nights_before(
        backfilled: tuple[Settings, Any], tmp_path: Path) -> None:
    s, _ = backfilled
    s = s.model_copy(update={"online": s.online.model_copy(update={"snapshot_dir": str(tmp_path / "online")})})
    first = publish(s, date(2026, 8, 5))
    last = publish(s, date(2026, 8, 7))
    entry = {d: json.loads((Path(p.path) / "manifest.json").read_text())["files"][ACTION_KIND]
             for d, p in (("first", first), ("last", last))}
    assert entry["first"]["folded_from"] is None and entry["last"]["folded_from"] == "2026-08-05"
    folded = pq.read_table(Path(last.path) / entry["last"]["file"])
    whole = account_states(s, date(2026, 8, 7))
    assert folded.num_rows == whole.num_rows > 100
    assert _canonical(folded, date(2026, 8, 7)) == _canonical(whole, date(2026, 8, 7))
