"""Action states folded on from an earlier night's (`ato.sensitive.events.fold_states`) equal the
states folded from the whole window; the publish step finds the earlier night's states only when
they can be trusted (`ato.online.snapshot.files.earlier_states`)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ato.features.actions import DAY_S, WINDOW_DAYS, ActionState
from ato.ingest.discover import sha256_of
from ato.online.snapshot.files import ACTION_KIND, STATES_FORMAT, earlier_states
from ato.privacy import key_fingerprint
from ato.sensitive.events import fold_states
from tests.unit.test_fold_slices import events_frame

pytestmark = pytest.mark.unit
EPOCH = date(1970, 1, 1)


def _days(df, first: int, last: int):  # type: ignore[no-untyped-def]
    day = (df["t"].astype(float) // DAY_S).astype(int)
    return df[(day >= first) & (day <= last)].reset_index(drop=True)


def _pruned(js: str, day: int) -> ActionState:
    st = ActionState.from_json(js)
    st._prune(day)
    return st


def test_states_folded_on_from_two_nights_ago_equal_a_fold_of_the_whole_window() -> None:
    import pandas as pd

    as_of, k = 138, 2
    df = events_frame(150, seed=11)  # days 100..139
    extra = [("new", as_of * DAY_S + 50.0), ("gone", (as_of - k - WINDOW_DAYS) * DAY_S + 50.0)]
    df = pd.concat([df, pd.DataFrame([{**df.iloc[0].to_dict(), "account_id": a, "t": t, "event_id": f"x-{a}"}
                                      for a, t in extra])], ignore_index=True)
    df = df.sort_values(["account_id", "t", "rank", "event_id"], kind="stable", ignore_index=True)
    earlier = fold_states(_days(df, as_of - k - WINDOW_DAYS, as_of - k), workers=1)
    full = fold_states(_days(df, as_of - WINDOW_DAYS, as_of), workers=1)
    on = fold_states(_days(df, as_of - k + 1, as_of), workers=1, earlier=earlier,
                     keep_from=EPOCH + timedelta(days=as_of - WINDOW_DAYS))
    assert on["account_id"].to_pylist() == full["account_id"].to_pylist()
    assert on["last_event_date"].to_pylist() == full["last_event_date"].to_pylist()
    for a, b in zip(on["action_state"].to_pylist(), full["action_state"].to_pylist(), strict=True):
        assert _pruned(a, as_of) == _pruned(b, as_of)
    # Not a trivial case: accounts carried over, folded on, new, and dropped as their window ended.
    new_days = set(_days(df, as_of - k + 1, as_of)["account_id"])
    before = set(earlier["account_id"].to_pylist())
    now = set(full["account_id"].to_pylist())
    assert now - new_days and new_days & before and new_days - before and before - now


def _snapshot(root: Path, day: str, table: pa.Table, fingerprint: str) -> Path:
    folder = root / "snapshots" / day
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "action.parquet")
    files = {ACTION_KIND: {"file": "action.parquet", "sha256": sha256_of(folder / "action.parquet"),
                           "key": "account_id", "format": STATES_FORMAT}}
    (folder / "manifest.json").write_text(json.dumps({"as_of": day, "files": files, "key_fingerprint": fingerprint}))
    return folder


def test_earlier_states_are_used_only_when_they_can_be_trusted(tmp_path: Path) -> None:
    from tests.conftest import make_settings

    s = make_settings(tmp_path)
    fp = key_fingerprint(s.hmac_key_bytes())
    table = pa.table({"account_id": ["a"], "action_state": [ActionState().to_json()],
                      "last_event_date": pa.array([date(2026, 8, 5)], pa.date32())})
    as_of = date(2026, 8, 7)  # rebuild_partials_days 2: folds on from 08-05
    root = Path(s.online.snapshot_dir)
    assert earlier_states(s, as_of) is None, "nothing published"
    _snapshot(root, "2026-08-06", table, fingerprint=fp)
    assert earlier_states(s, as_of) is None, "only the night before: late events of 08-06 may be missing"
    folder = _snapshot(root, "2026-08-05", table, fingerprint=fp)
    got = earlier_states(s, as_of)
    assert got is not None and got[0] == "2026-08-05" and got[1].equals(table)
    m = json.loads((folder / "manifest.json").read_text())
    for broken in ({**m, "key_fingerprint": "another key"},
                   {**m, "files": {ACTION_KIND: {**m["files"][ACTION_KIND], "format": STATES_FORMAT - 1}}},
                   {**m, "files": {ACTION_KIND: {**m["files"][ACTION_KIND], "sha256": "0" * 64}}}):
        (folder / "manifest.json").write_text(json.dumps(broken))
        assert earlier_states(s, as_of) is None
