"""Speed-layer features: attempts, failures and distinct accounts per account, IP, /24 prefix
and device in the last 5 min / 1 h / 24 h, counting only events strictly before the login.

One implementation, `grouped_window_counts`: the batch layer passes a whole Spark partition of
keys at once (`partition_speed_features`, via `mapInPandas`). Serving keeps the same windows
incrementally (`ato.online.decide.windows`), and these functions are the oracle its tests compare
with; `live_window_features` (a login's four keys recounted at one moment) is what serving called
before, kept as the reference of `benchmarks/speed_layer.py`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ato.features.windows import WINDOWS_S

# Feature prefix -> the silver login column that keys it.
SPEED_KEYS: dict[str, str] = {"account": "account_id", "ip": "ip_hash", "prefix": "ip_prefix_hash", "device": "device_hash"}
US = 1_000_000


def speed_feature_names(key: str) -> list[str]:
    """Column names of one key's window features, e.g. ip_attempts_5m, ip_accounts_1h."""
    names = []
    for w in WINDOWS_S:
        names += [f"{key}_attempts_{w}", f"{key}_failures_{w}"]
        if key != "account":  # distinct accounts behind one IP/prefix/device: credential stuffing
            names.append(f"{key}_accounts_{w}")
    return names


SPEED_FEATURES: list[str] = [n for k in SPEED_KEYS for n in speed_feature_names(k)]
_NAMES = {k: speed_feature_names(k) for k in SPEED_KEYS}


def grouped_window_counts(ev_group: np.ndarray, ev_t_us: np.ndarray, ev_failed: np.ndarray, ev_account: np.ndarray,
                          q_group: np.ndarray, q_t_us: np.ndarray, distinct: bool = True) -> dict[str, np.ndarray]:
    """Window counts (`attempts_5m`, `failures_1h`, `accounts_24h`, ...) for queries over events of many
    groups at once.

    Events and queries are sorted by (group code, time in integer microseconds); a query
    counts the events of its own group with `t - window <= time < t`. Attempts and failures
    are two binary searches on a (group, time) composite; distinct accounts slide one
    window over the events, as both window ends only move forward.
    """
    out: dict[str, np.ndarray] = {}
    ev_t = ev_t_us.astype(np.int64, copy=False)
    q_t = q_t_us.astype(np.int64, copy=False)
    t0 = int(min(ev_t.min(), q_t.min())) if len(ev_t) else int(q_t.min())
    span = int(max(ev_t.max(), q_t.max())) - t0 if len(ev_t) else int(q_t.max()) - t0
    stride = span + max(WINDOWS_S.values()) * US + 1  # windows never reach into the previous group
    ev_c = ev_group.astype(np.int64, copy=False) * stride + (ev_t - t0)
    q_c = q_group.astype(np.int64, copy=False) * stride + (q_t - t0)
    cum = np.zeros(len(ev_c) + 1, dtype=np.int64)
    np.cumsum(ev_failed, out=cum[1:])
    hi = np.searchsorted(ev_c, q_c, side="left")
    spans = np.array(list(WINDOWS_S.values()), dtype=np.int64) * US
    los = np.searchsorted(ev_c, (q_c[None, :] - spans[:, None]).ravel(), side="left").reshape(len(spans), -1)
    acct_codes = _codes(ev_account) if distinct else []
    his = hi.tolist() if distinct else []
    for i, w in enumerate(WINDOWS_S):
        lo = los[i]
        out[f"attempts_{w}"] = hi - lo
        out[f"failures_{w}"] = cum[hi] - cum[lo]
        if distinct:
            out[f"accounts_{w}"] = _distinct_in_ranges(acct_codes, lo.tolist(), his)
    return out


def grouped_window_features(key: str, ev_group: np.ndarray, ev_t_us: np.ndarray, ev_failed: np.ndarray,
                            ev_account: np.ndarray, q_group: np.ndarray, q_t_us: np.ndarray) -> dict[str, np.ndarray]:
    """One key's window features (named `<key>_<count>_<window>`) for queries over many keys' events."""
    if len(q_t_us) == 0:
        return {n: np.zeros(0, dtype=np.int64) for n in speed_feature_names(key)}
    counts = grouped_window_counts(ev_group, ev_t_us, ev_failed, ev_account, q_group, q_t_us, key != "account")
    return {f"{key}_{c}": v for c, v in counts.items()}


def live_window_features(events: dict[str, tuple[list[float], list[int], list[str]] | None],
                         at_s: float) -> dict[str, float]:
    """Serving: every key's window features at one moment, in one pass of the same counting code.

    `events` maps each of SPEED_KEYS to that key's recent events (epoch seconds, failed 0/1,
    account id, in time order), or to None when the login has no such key (no device id):
    its features are then missing, as in the training set's left join.
    """
    out: dict[str, float] = {}
    for k in SPEED_KEYS:
        ev = events.get(k)
        if ev is None or not ev[0]:  # no key: missing (as the left join); no events: nothing to count
            out.update(dict.fromkeys(_NAMES[k], float("nan") if ev is None else 0.0))
    keys = [k for k in SPEED_KEYS if events.get(k) is not None and events[k][0]]  # type: ignore[index]
    if not keys:
        return out
    t: list[float] = []
    failed: list[int] = []
    accounts: list[str] = []
    group: list[int] = []
    for g, k in enumerate(keys):
        ts, fl, ac = events[k]  # type: ignore[misc]
        t += ts
        failed += fl
        accounts += ac
        group += [g] * len(ts)
    t_us = np.round(np.asarray(t, dtype=np.float64) * US).astype(np.int64)
    g_arr = np.asarray(group, dtype=np.int64)
    order = np.lexsort((t_us, g_arr)) if t else np.zeros(0, dtype=np.int64)
    at_us = round(at_s * US)
    acc_arr: np.ndarray = np.array(accounts, dtype=object)
    counts = grouped_window_counts(g_arr[order], t_us[order], np.asarray(failed, dtype=np.int64)[order], acc_arr[order],
                                   np.arange(len(keys), dtype=np.int64), np.full(len(keys), at_us, dtype=np.int64))
    for g, k in enumerate(keys):
        for n in _NAMES[k]:
            out[n] = float(counts[n.removeprefix(k + "_")][g])
    return {n: out[n] for n in SPEED_FEATURES}


def _codes(values: np.ndarray) -> list[int]:
    """Integer codes of values (equal values, equal codes); pandas for big arrays, a dict for small."""
    if len(values) > 512:
        return list(pd.factorize(values)[0].tolist())
    seen: dict[object, int] = {}
    return [seen.setdefault(v, len(seen)) for v in values.tolist()]


def _distinct_in_ranges(codes: list[int], los: list[int], his: list[int]) -> np.ndarray:
    """Distinct codes in codes[lo:hi] for ranges whose ends never move backwards."""
    if len(los) <= 8:  # a few queries (serving): a set per range beats sliding over every event
        return np.array([len(set(codes[lo:hi])) for lo, hi in zip(los, his, strict=True)], dtype=np.int64)
    counts: dict[int, int] = {}
    res = np.zeros(len(los), dtype=np.int64)
    a = b = 0
    for j, (lo, hi) in enumerate(zip(los, his, strict=True)):
        while b < hi:
            c = codes[b]
            counts[c] = counts.get(c, 0) + 1
            b += 1
        while a < lo:
            c = codes[a]
            if counts[c] == 1:
                del counts[c]
            else:
                counts[c] -= 1
            a += 1
        res[j] = len(counts)
    return res


def window_features(key: str, times_s: np.ndarray, failed: np.ndarray, accounts: np.ndarray,
                    at_s: np.ndarray) -> dict[str, np.ndarray]:
    """One key's window features at query times `at_s` (epoch seconds) from its events (any order)."""
    t_us = np.round(np.asarray(times_s, dtype=np.float64) * US).astype(np.int64)
    order = np.argsort(t_us, kind="stable")
    at_us = np.round(np.asarray(at_s, dtype=np.float64) * US).astype(np.int64)
    q_order = np.argsort(at_us, kind="stable")
    feats = grouped_window_features(key, np.zeros(len(t_us), np.int64), t_us[order], np.asarray(failed)[order],
                                    np.asarray(accounts, dtype=object)[order], np.zeros(len(at_us), np.int64),
                                    at_us[q_order])
    back = np.empty_like(q_order)
    back[q_order] = np.arange(len(q_order))
    return {k: v[back] for k, v in feats.items()}


def partition_speed_features(key: str, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """`mapInPandas` body: window features for the query rows of a partition holding whole keys.

    Columns in: `key`, `event_id`, `t_us`, `failed`, `account_id`, `is_query`; out: `event_id`
    and the key's features. The partition must hold every event of each of its keys.
    """
    frames = list(batches)
    names = speed_feature_names(key)
    if not frames:
        return
    pdf = pd.concat(frames, ignore_index=True)
    pdf["g"] = pd.factorize(pdf["key"])[0]
    pdf = pdf.sort_values(["g", "t_us", "event_id"], kind="stable", ignore_index=True)
    q = pdf[pdf["is_query"].astype(bool)]
    feats = grouped_window_features(key, pdf["g"].to_numpy(), pdf["t_us"].to_numpy(), pdf["failed"].to_numpy(),
                                    pdf["account_id"].to_numpy(), q["g"].to_numpy(), q["t_us"].to_numpy())
    out = pd.DataFrame({"event_id": q["event_id"].to_numpy()})
    for n in names:
        out[n] = feats[n].astype(np.int32)
    yield out
