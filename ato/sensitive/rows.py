"""`gold/action_training_set`: one row per sensitive action of the given days, with the features
`ato.features.actions` computes (each account's events of the 30 days before folded in order,
the code serving runs) and a label taken from the login labels the training set already holds.

Label: an action is a takeover's when an attacker login of its account (a `gold/training_set`
row labelled 1 that keeps its weight under the account-window rule of `ato.model.labels`) came
from the same IP hash at most `LINK_S` before it: the cash-out comes from the login's own IP.
The login labels carry the maturity rule (`ato.spark.labels`), so action rows of day L are built
once the logins of L are in the training set (night L + `batch.label_maturity_days`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING

from ato import deltars
from ato.features.actions import ACTION_FEATURES, ACTION_KINDS, WINDOW_DAYS, fold
from ato.sensitive.events import account_streams, read_events
from ato.sensitive.slices import map_slices, processes
from ato.tables import ACTION_TRAINING, TRAINING

if TYPE_CHECKING:
    import pandas as pd

    from ato.settings import Settings

LINK_S = 3 * 86400  # an action is linked to an attacker login of the 3 days before it
ID_COLUMNS = ("event_id", "account_id", "event_time", "action_date", "kind", "ip_hash", "device_hash")
LABEL_COLUMNS = ("label", "label_source", "attack_type", "attacker_login_id")


def feature_rows(settings: Settings, first: date, last: date) -> pd.DataFrame:
    """Every action of days [first, last] with its features (no labels), in account then fold order."""
    import pandas as pd

    events = read_events(settings, first - timedelta(days=WINDOW_DAYS), last)
    start = pd.Timestamp(first, tz="UTC").timestamp()
    end = pd.Timestamp(last + timedelta(days=1), tz="UTC").timestamp()
    parts = map_slices(events, partial(_feature_slice, start=start, end=end), processes(settings.batch.fold_processes))
    out = [row for part in parts for row in part]
    df = pd.DataFrame(out, columns=["event_id", "account_id", "t", "kind", "ip_hash", "device_hash",
                                    *ACTION_FEATURES])
    df["t"] = df["t"].astype("float64")  # a window without actions has no values to infer it from
    df["event_time"] = pd.to_datetime((df["t"] * 1e6).round().astype("int64"), unit="us", utc=True)
    df["action_date"] = df["event_time"].dt.date
    return df.drop(columns="t").astype({f: "float64" for f in ACTION_FEATURES})


def _feature_slice(events: pd.DataFrame, start: float, end: float) -> list[dict[str, object]]:
    """The feature rows of the frame's actions in [start, end), its accounts folded from their first event."""
    out: list[dict[str, object]] = []
    for account, stream in account_streams(events):
        for a, feats in fold(stream, emit_from_s=start):
            if a.time_s < end:
                out.append({"event_id": a.event_id, "account_id": account, "t": a.time_s, "kind": a.kind,
                            "ip_hash": a.ip, "device_hash": a.device, **feats})
    return out


def attacker_logins(settings: Settings, first: date, last: date) -> pd.DataFrame:
    """Logins of [first, last] the training set labels as an attacker's (label 1, weight kept)."""
    import pandas as pd

    from ato.model.labels import training_targets

    cols = ["event_id", "account_id", "event_time", "ip_hash", "label", "label_source", "label_weight",
            "new_device", "new_asn", "new_country", "attack_type"]
    if not deltars.exists(settings, "gold", TRAINING):
        return pd.DataFrame(columns=cols)
    df = deltars.read_dates(settings, "gold", TRAINING, "login_date", first, last, cols).to_pandas()
    y, w = training_targets(df)
    return df[(y == 1) & (w > 0)]


def label_actions(actions: pd.DataFrame, attackers: pd.DataFrame) -> pd.DataFrame:
    """`actions` with label, label_source, attack_type and the attacker login it was linked to."""
    import pandas as pd

    a = actions.reset_index(drop=True)
    a["_i"] = range(len(a))
    lg = attackers[["event_id", "account_id", "event_time", "ip_hash", "label_source", "attack_type"]].rename(
        columns={"event_id": "attacker_login_id", "event_time": "_login_time"})
    m = a[["_i", "account_id", "ip_hash", "event_time"]].merge(lg, on=["account_id", "ip_hash"])
    gap = (m["event_time"] - pd.to_datetime(m["_login_time"], utc=True)).dt.total_seconds()
    m = m[(gap >= 0) & (gap <= LINK_S)].sort_values(["_i", "_login_time"]).drop_duplicates("_i", keep="last")
    a = a.merge(m[["_i", "attacker_login_id", "label_source", "attack_type"]], on="_i", how="left")
    a["label"] = a["attacker_login_id"].notna().astype("int32")
    a["label_source"] = a["label_source"].where(a["label"] == 1, "unreported")
    return a.drop(columns="_i")


def build_action_rows(settings: Settings, days: Iterable[date]) -> int:
    """Write the action rows of `days` (replacing those days) to gold/action_training_set; returns rows.
    Days without actions write nothing (no table is created for them) and clear what the table held for them."""
    import pyarrow as pa

    days = sorted(set(days))
    if not days:
        return 0
    first, last = days[0], days[-1]
    feats = feature_rows(settings, first, last)
    feats = feats[feats["action_date"].isin(days)]
    listed = ", ".join(f"'{d.isoformat()}'" for d in days)
    if feats.empty:  # (a new deployment's first nights, a world younger than the label maturity)
        if deltars.exists(settings, "gold", ACTION_TRAINING):  # a re-run leaves the days as empty as they are now
            deltars.delete(settings, "gold", ACTION_TRAINING, f"action_date IN ({listed})")
        return 0
    rows = label_actions(feats, attacker_logins(settings, first - timedelta(seconds=LINK_S), last))
    rows = rows[[*ID_COLUMNS, *ACTION_FEATURES, *LABEL_COLUMNS]]
    table = pa.Table.from_pandas(rows, preserve_index=False)
    if deltars.exists(settings, "gold", ACTION_TRAINING):
        deltars.write(settings, "gold", ACTION_TRAINING, table, mode="overwrite",
                      predicate=f"action_date IN ({listed})", partition_by=["action_date"])
    else:
        deltars.write(settings, "gold", ACTION_TRAINING, table, partition_by=["action_date"])
    return len(rows)


def kind_name(code: float) -> str:
    """The action kind an `action_kind` feature value stands for."""
    return ACTION_KINDS[int(code)]
