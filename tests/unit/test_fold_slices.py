"""Accounts folded in forked slices (`ato.sensitive.slices`) give the serial fold's states and
feature rows, in the same order; a slice never splits an account."""

from __future__ import annotations

import random
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from ato.contracts import CHANGE_TYPES
from ato.features.actions import CHANGE, DAY_S, LOGIN, PAYMENT
from ato.sensitive.events import COLUMNS, _states
from ato.sensitive.rows import _feature_slice
from ato.sensitive.slices import account_slices, map_slices

pytestmark = pytest.mark.unit
T0 = 100 * DAY_S


def events_frame(accounts: int, seed: int = 3) -> pd.DataFrame:
    """A `read_events`-shaped frame: 40 days of logins, changes and payments per account, few values
    each so that places, payees and methods repeat."""
    rng = random.Random(seed)
    rows = []
    for a in range(accounts):
        for i in range(rng.randint(1, 60)):
            t = T0 + rng.uniform(0, 40 * DAY_S)
            rank = rng.choice((LOGIN, LOGIN, CHANGE, PAYMENT))
            kind = "login" if rank == LOGIN else "payment" if rank == PAYMENT else rng.choice(CHANGE_TYPES)
            pay = rank == PAYMENT
            rows.append({"account_id": f"acct-{a:04d}", "t": t, "rank": rank, "event_id": f"e{a}-{i}", "kind": kind,
                         "amount": rng.choice((5.0, 40.0, 900.0)) if pay else None,
                         "payee": f"y{rng.randint(0, 3)}" if pay else None,
                         "method": f"m{rng.randint(0, 2)}" if pay else None,
                         "device": rng.choice((None, "d1", "d2", f"d{a}")), "ip": rng.choice(("i1", "i2", f"i{a}"))})
    df = pd.DataFrame(rows, columns=COLUMNS).astype(object)
    return df.sort_values(["account_id", "t", "rank", "event_id"], kind="stable", ignore_index=True)


def test_slices_cover_every_row_once_and_never_split_an_account() -> None:
    ids = np.array(sorted(["a"] * 5 + ["b"] * 1 + ["c"] * 7 + ["d"] * 2), dtype=object)
    for parts in (1, 2, 3, 4, 15, 40):
        slices = account_slices(ids, parts)
        assert slices[0][0] == 0 and slices[-1][1] == len(ids)
        assert all(b == c for (_, b), (c, _) in pairwise(slices)), "contiguous"
        assert len(slices) <= parts
        assert all(ids[a] != ids[a - 1] for a, _ in slices[1:]), "a slice starts at an account's first row"
    assert account_slices(ids, 2) == [(0, 6), (6, 15)]
    assert account_slices(np.array(["a"] * 9, dtype=object), 3) == [(0, 9)], "one account is one slice"
    assert account_slices(np.array([], dtype=object), 2) == [], "no rows, no slices"


def test_forked_slices_fold_what_one_process_folds() -> None:
    df = events_frame(120)
    serial_ids, serial_states, serial_last = _states(df)
    parts = map_slices(df, _states, 3, min_rows=0)
    assert len(parts) == 3, "three processes each folded a slice"
    assert [a for p in parts for a in p[0]] == serial_ids
    assert [s for p in parts for s in p[1]] == serial_states
    assert [t for p in parts for t in p[2]] == serial_last


def test_forked_slices_give_the_serial_feature_rows_in_order() -> None:
    from functools import partial

    df = events_frame(80, seed=5)
    start, end = T0 + 30 * DAY_S, T0 + 40 * DAY_S
    serial = _feature_slice(df, start, end)
    assert len(serial) > 100
    forked = [r for p in map_slices(df, partial(_feature_slice, start=start, end=end), 2, min_rows=0) for r in p]
    assert pd.DataFrame(forked).equals(pd.DataFrame(serial))


def test_small_frames_and_one_process_stay_in_this_process() -> None:
    df = events_frame(10)
    assert len(map_slices(df, _states, 4)) == 1, "under MIN_ROWS"
    assert len(map_slices(df, _states, 1, min_rows=0)) == 1
