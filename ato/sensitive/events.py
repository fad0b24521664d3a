"""Silver events as the action features fold them: per account, successful logins, account changes
and payments of a span of days in `order_key` order (delta-rs, no JVM). Also the per-account states
the nightly snapshot carries for serving."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ato import deltars
from ato.features.actions import (
    CHANGE,
    DAY_S,
    LOGIN,
    PAYMENT,
    WINDOW_DAYS,
    Action,
    ActionState,
    Event,
    fold,
)
from ato.sensitive.slices import map_slices, processes
from ato.tables import ACCOUNT_CHANGES, LOGINS, PAYMENTS

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from ato.settings import Settings

COLUMNS = ["account_id", "t", "rank", "event_id", "kind", "amount", "payee", "method", "device", "ip"]


def _read(settings: Settings, table: str, first: date, last: date, columns: list[str],
          where: pc.Expression | None = None) -> pd.DataFrame:
    import pandas as pd

    if not deltars.exists(settings, "silver", table):
        return pd.DataFrame(columns=columns)
    return deltars.read_dates(settings, "silver", table, "event_date", first, last, columns, where).to_pandas()


def _seconds(ts: pd.Series) -> pd.Series:
    """Epoch seconds from a timestamp column (µs from delta-rs), as the API's `datetime.timestamp()`."""
    import pandas as pd

    us = pd.to_datetime(ts, utc=True).dt.as_unit("us").astype("int64")
    return us / 1e6


def read_events(settings: Settings, first: date, last: date) -> pd.DataFrame:
    """Successful logins, changes and payments of days [first, last], sorted by account then fold order."""
    import pandas as pd
    import pyarrow.compute as pc

    lg = _read(settings, LOGINS, first, last, ["event_id", "event_time", "account_id", "outcome", "ip_hash",
                                                 "device_hash"], pc.field("outcome") == "success")
    ch = _read(settings, ACCOUNT_CHANGES, first, last, ["event_id", "event_time", "account_id", "change_type",
                                                         "ip_hash", "device_hash"])
    pm = _read(settings, PAYMENTS, first, last, ["event_id", "event_time", "account_id", "amount", "payee_hash",
                                                  "payment_method_hash", "ip_hash", "device_hash"])
    parts = [
        pd.DataFrame({"account_id": lg["account_id"], "t": _seconds(lg["event_time"]), "rank": LOGIN,
                      "event_id": lg["event_id"], "kind": "login", "device": lg["device_hash"], "ip": lg["ip_hash"]}),
        pd.DataFrame({"account_id": ch["account_id"], "t": _seconds(ch["event_time"]), "rank": CHANGE,
                      "event_id": ch["event_id"], "kind": ch["change_type"], "device": ch["device_hash"],
                      "ip": ch["ip_hash"]}),
        pd.DataFrame({"account_id": pm["account_id"], "t": _seconds(pm["event_time"]), "rank": PAYMENT,
                      "event_id": pm["event_id"], "kind": "payment", "amount": pm["amount"], "payee": pm["payee_hash"],
                      "method": pm["payment_method_hash"], "device": pm["device_hash"], "ip": pm["ip_hash"]}),
    ]
    df = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame(columns=COLUMNS)
    df = df.reindex(columns=COLUMNS).take(_fold_order(df))
    df = df.astype({"amount": "float64"}).astype(object).where(df.notna(), None)
    return df.reset_index(drop=True)


def _fold_order(df: pd.DataFrame) -> pa.Array:
    """Row positions sorting `df` by (account, t, rank, event id): Arrow's stable sort on the typed
    columns, a few times faster than pandas' on Python objects. UTF-8 bytes sort as the code points
    pandas compares, so the order is the same."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = pa.table({"a": pa.array(df["account_id"], pa.string()), "t": pa.array(df["t"], pa.float64()),
                     "r": pa.array(df["rank"], pa.int64()), "e": pa.array(df["event_id"], pa.string())})
    return pc.sort_indices(keys, sort_keys=[(k, "ascending") for k in ("a", "t", "r", "e")])


def account_streams(df: pd.DataFrame) -> Iterator[tuple[str, list[Event]]]:
    """(account id, its events in fold order) from `read_events`' frame."""
    rows = df.itertuples(index=False)
    current: str | None = None
    events: list[Event] = []
    for r in rows:
        if r.account_id != current:
            if current is not None:
                yield current, events
            current, events = str(r.account_id), []
        if r.rank == LOGIN:
            events.append(Event(LOGIN, None, float(r.t), r.device, r.ip, str(r.event_id)))
        else:
            a = Action(str(r.event_id), float(r.t), str(r.kind), None if r.amount is None else float(r.amount),
                       r.payee, r.method, r.device, r.ip)
            events.append(Event(int(r.rank), a))
    if current is not None:
        yield current, events


def _states(df: pd.DataFrame) -> tuple[list[str], list[str], list[float]]:
    """(account ids, their `ActionState` JSON, their last event's time) of every account of the frame,
    folded to its end: from the JSON in the frame's `start` column when it has one (the account's
    earlier state), else from an empty state."""
    ids, states, last = [], [], []
    starts = df["start"] if "start" in df.columns else None
    at = 0
    for account, events in account_streams(df):
        first = None if starts is None else starts.iat[at]
        st = ActionState.from_json(first) if isinstance(first, str) else ActionState()
        for _ in fold(events, st, emit_from_s=float("inf")):
            pass
        at += len(events)
        ids.append(account)
        states.append(st.to_json())
        last.append(max(e.time_s if e.action is None else e.action.time_s for e in events))
    return ids, states, last


def fold_states(df: pd.DataFrame, workers: int, earlier: pa.Table | None = None,
                keep_from: date | None = None) -> pa.Table:
    """(account_id, action_state, last_event_date) of the accounts in `df` (`read_events`' frame),
    each folded on from its row in `earlier` when it has one. With `earlier`, its other accounts are
    carried over as they are when their last event is on or after `keep_from`. Sorted by account."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if earlier is not None:
        prior = dict(zip(earlier["account_id"].to_pylist(), earlier["action_state"].to_pylist(), strict=True))
        df = df.assign(start=df["account_id"].map(prior))
    parts = map_slices(df, _states, workers)
    days = pa.array([float(t) for p in parts for t in p[2]], pa.float64())
    table = pa.table({
        "account_id": pa.array([a for p in parts for a in p[0]], pa.string()),
        "action_state": pa.array([s for p in parts for s in p[1]], pa.string()),
        "last_event_date": pc.cast(pc.cast(pc.floor(pc.divide(days, float(DAY_S))), pa.int32()), pa.date32()),
    })
    if earlier is None:
        return table
    carried = pc.invert(pc.is_in(earlier["account_id"], value_set=table["account_id"]))
    if keep_from is not None:
        carried = pc.and_(carried, pc.greater_equal(earlier["last_event_date"], pa.scalar(keep_from, pa.date32())))
    return pa.concat_tables([earlier.select(table.column_names).filter(carried), table]).sort_by("account_id")


def account_states(settings: Settings, as_of: date, earlier: pa.Table | None = None) -> pa.Table:
    """(account_id, action_state JSON, last_event_date) of every account with events in
    [as_of - 30, as_of]: what the snapshot of `as_of` hands serving for the next day's actions
    (accounts folded in parallel).

    `earlier`: the table this function gave for as_of - k, k = `batch.rebuild_partials_days` (the
    nightly's late-event horizon). Then only the events of the last k days are read and folded on
    from each account's earlier state, and accounts without them are carried over (until their
    last event leaves the window): the same states as a fold of the whole window, for a night's
    events instead of a month's (`tests/unit/test_fold_states.py`).
    """
    workers = processes(settings.batch.fold_processes)
    if earlier is None:
        return fold_states(read_events(settings, as_of - timedelta(days=WINDOW_DAYS), as_of), workers)
    since = as_of - timedelta(days=settings.batch.rebuild_partials_days - 1)
    return fold_states(read_events(settings, since, as_of), workers, earlier,
                       keep_from=as_of - timedelta(days=WINDOW_DAYS))
