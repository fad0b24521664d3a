"""Per-user statistical RBA baseline after Freeman et al. (2016), "Who are you? A statistical
approach to measuring user authenticity" (NDSS). A login is risky when its attributes are
unlikely for this user's history compared with the global population:

    score(x, u) = sum_k [log p(x_k) - log p(x_k | u)] + [log p(u | attack) - log p(u | legit)]

p(x): add-one smoothed frequency among successful logins before `global_until`.
p(x | u): the account's successful logins strictly before the login, smoothed towards p(x)
with Dirichlet weight `alpha`. p(u | attack) = 1 / U; p(u | legit) = (n_u + 1) / (N + U).
Everything is vectorised (sorts and cumulative sums), so a million logins take seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ATTRIBUTES: tuple[str, ...] = ("ip", "asn", "country", "browser", "os")
LOGIN_COLUMNS: tuple[str, ...] = (
    "event_id", "account_id", "event_time", "outcome", "ip_hash", "asn", "country",
    "ua_family", "ua_major", "os_family",
)


def _codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Integer code per distinct value; missing values share one extra code of their own."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    out = codes.astype(np.int64)
    out[out < 0] = len(uniques)
    return out


def _attribute_codes(logins: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each attribute as integer codes; the browser is the pair (ua_family, ua_major)."""
    family, major = _codes(logins["ua_family"]), _codes(logins["ua_major"])
    return {
        "ip": _codes(logins["ip_hash"]),
        "asn": _codes(logins["asn"]),
        "country": _codes(logins["country"]),
        "browser": _codes(family * (int(major.max(initial=0)) + 1) + major),
        "os": _codes(logins["os_family"]),
    }


def _prior_counts(group: np.ndarray, t: np.ndarray, success: np.ndarray) -> np.ndarray:
    """Per row: successful rows of the same group with a strictly earlier time (ties excluded)."""
    n = len(group)
    order = np.lexsort((t, group))
    g, ts, s = group[order], t[order], success[order].astype(np.int64)
    before = np.cumsum(s) - s  # successes earlier in the sorted order, over all groups
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = g[1:] != g[:-1]
    new_block = new_group.copy()
    new_block[1:] |= ts[1:] != ts[:-1]
    idx = np.arange(n)
    group_start = np.maximum.accumulate(np.where(new_group, idx, 0))
    block_start = np.maximum.accumulate(np.where(new_block, idx, 0))
    out = np.empty(n, dtype=np.int64)
    out[order] = before[block_start] - before[group_start]
    return out


def _times_ns(event_time: pd.Series) -> np.ndarray:
    """Event times as int64 nanoseconds since the epoch (UTC), for sorting and tie checks."""
    naive = event_time.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.to_numpy().astype("datetime64[ns]").view(np.int64)


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    """A UTC timestamp; a naive one is taken to be UTC already."""
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def freeman_scores(logins: pd.DataFrame, global_until: pd.Timestamp, alpha: float = 1.0,
                   user_term: bool = True) -> pd.DataFrame:
    """Score every login (higher = riskier); one row per input login, in input order, with
    event_id, freeman_score and per-attribute log-ratio contributions freeman_<attribute>."""
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    t = _times_ns(logins["event_time"])
    account = _codes(logins["account_id"])
    success = (logins["outcome"] == "success").to_numpy(dtype=bool)
    pop = success & (logins["event_time"] < _utc(global_until)).to_numpy(dtype=bool)
    n_pop = int(pop.sum())
    n_u = _prior_counts(account, t, success).astype(np.float64)

    out = pd.DataFrame({"event_id": logins["event_id"].to_numpy()})
    total = np.zeros(len(logins), dtype=np.float64)
    contributions: dict[str, np.ndarray] = {}
    for name, v in _attribute_codes(logins).items():
        n_values = int(v.max(initial=-1)) + 1
        counts = np.bincount(v[pop], minlength=n_values)
        distinct = int(np.count_nonzero(counts))
        p_x = (counts[v] + 1.0) / (n_pop + distinct + 1.0)
        c_u = _prior_counts(account * n_values + v, t, success)
        p_xu = (c_u + alpha * p_x) / (n_u + alpha)
        contributions[name] = np.log(p_x) - np.log(p_xu)
        total += contributions[name]
    if user_term:
        per_user = np.bincount(account[pop], minlength=int(account.max(initial=-1)) + 1)
        n_users = max(int(np.count_nonzero(per_user)), 1)
        p_legit = (per_user[account] + 1.0) / (n_pop + n_users)
        total += -np.log(n_users) - np.log(p_legit)
    out["freeman_score"] = total
    for name in ATTRIBUTES:
        out[f"freeman_{name}"] = contributions[name]
    return out
