"""One login's feature vector at request time, column for column what `gold/training_set` holds for
the same login (`ato.spark.training.training_rows`): snapshot features of the day before, speed
windows, request-time features replayed on the snapshot, request signals, categories.
"""

from __future__ import annotations

import math
from typing import Any

from ato.features.columns import (
    ACCOUNT_FEATURES,
    CATEGORICAL_FEATURES,
    ENTITY_FEATURES,
    FEATURES,
    SIGNAL_FEATURES,
)
from ato.features.request import AccountHistory, LoginSignals, request_features
from ato.features.speed import SPEED_FEATURES
from ato.online.decide.enrich import Enriched
from ato.online.decide.records import LiveLogin, Lookup
from ato.online.decide.snapshot_values import as_float

NAN = float("nan")
Vector = dict[str, Any]
_IP = tuple(f"ip_{c}" for c in ENTITY_FEATURES)
_DEVICE = tuple(f"device_{c}" for c in ENTITY_FEATURES)
_num = as_float


def live_login(e: Enriched, event_id: str | None = None) -> LiveLogin:
    """The speed-layer record of an enriched login (counted once per event id)."""
    signals = LoginSignals(time_s=e.time_s, success=e.outcome == "success", device=e.device_hash, ip=e.ip_hash,
                           country=e.country, asn=e.asn, lat=e.latitude, lon=e.longitude)
    return LiveLogin({"account": e.account_id, "ip": e.ip_hash, "prefix": e.ip_prefix_hash, "device": e.device_hash},
                     signals, event_id, e.ip_rep_category)


def request_vector(e: Enriched) -> Vector:
    """What the request alone tells (no store): signals and categories; every other feature missing."""
    v: Vector = dict.fromkeys(FEATURES, NAN)
    v["ip_rep_score"] = _num(e.ip_rep_score)
    v["ua_major"] = _num(e.ua_major)
    v["is_automation_ua"] = float(e.is_automation_ua)
    cats = {"outcome": e.outcome, "channel": e.channel, "ua_family": e.ua_family, "os_family": e.os_family,
            "device_class": e.device_class, "ip_rep_category": e.ip_rep_category}
    for c in CATEGORICAL_FEATURES:
        v[c] = cats[c] if cats[c] is not None else "unknown"
    return v


def fallback_view(vec: Vector) -> Vector:
    """What the fallback model may see of a full vector: request signals, categories and velocity
    windows; snapshot and history features missing (the audit keeps what the decision used)."""
    out: Vector = dict.fromkeys(FEATURES, NAN)
    out.update({k: vec[k] for k in _FALLBACK_KEYS})
    return out


_FALLBACK_KEYS = (*SIGNAL_FEATURES, *CATEGORICAL_FEATURES, *SPEED_FEATURES)


def feature_vector(e: Enriched, lk: Lookup, login: LiveLogin) -> Vector:
    """The full vector: request signals plus the store's snapshot rows, speed windows and the
    account's history (snapshot + successes since)."""
    v = request_vector(e)
    if lk.values is not None:  # the embedded store's float rows, in column order
        v.update(zip(ACCOUNT_FEATURES, lk.values["account"], strict=True))
        v.update(zip(_IP, lk.values["ip"], strict=True))
        v.update(zip(_DEVICE, lk.values["device"], strict=True))
    else:
        acct = lk.account or {}
        for c in ACCOUNT_FEATURES:
            v[c] = _num(acct.get(c))
        for names, row in ((_IP, lk.ip), (_DEVICE, lk.device)):
            for name, c in zip(names, ENTITY_FEATURES, strict=True):
                v[name] = _num((row or {}).get(c))
    v.update(lk.speed)
    h = snapshot_history(lk.as_of, e.account_id, lk.account)
    if lk.recent is not None:  # successes since the snapshot, already summarised per day by the store
        h = h.copy()
        lk.recent.fold_into(h)
    v.update(request_features(h, login.signals))
    return v


_HISTORIES: dict[tuple[str | None, str], AccountHistory] = {}


def snapshot_history(as_of: str | None, account_id: str, row: dict[str, Any] | None) -> AccountHistory:
    """The account's history as the snapshot has it, parsed once per snapshot (callers copy it
    before folding logins in)."""
    key = (as_of, account_id)
    h = _HISTORIES.get(key)
    if h is None:
        if len(_HISTORIES) > 200_000:
            _HISTORIES.clear()
        h = _HISTORIES[key] = AccountHistory.from_snapshot(row)
    return h


def json_safe(v: Vector) -> dict[str, Any]:
    """NaN as null, for JSON responses and the audit log."""
    return {k: None if isinstance(x, float) and math.isnan(x) else x for k, x in v.items()}
