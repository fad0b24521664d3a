"""The per-user statistical RBA baseline after Freeman et al. (2016), "Who are you? A
statistical approach to measuring user authenticity":

    score(x, u) = sum_k [log p(x_k) - log p(x_k | u)] + [log p(u | attack) - log p(u | legit)]

p(x) is the population frequency of a value (successful logins before `global_until`,
add-one smoothed); p(x | u) the user's history (earlier successful logins, strictly before
the login) smoothed towards the population with weight `alpha`. Higher = riskier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ATTRIBUTES: tuple[str, ...] = ("ip", "asn", "country", "browser", "os")
LOGIN_COLUMNS: tuple[str, ...] = ("event_id", "account_id", "event_time", "outcome", "ip_hash", "asn",
                                  "country", "ua_family", "ua_major", "os_family")


def _values(logins: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each attribute as strings, a missing value counting as its own value '?'."""
    def s(col: pd.Series) -> pd.Series:
        return col.astype("string").fillna("?")

    return {"ip": s(logins["ip_hash"]).to_numpy(), "asn": s(logins["asn"]).to_numpy(),
            "country": s(logins["country"]).to_numpy(),
            "browser": (s(logins["ua_family"]) + "/" + s(logins["ua_major"])).to_numpy(),
            "os": s(logins["os_family"]).to_numpy()}


def _prior_counts(account: np.ndarray, t: np.ndarray, key: np.ndarray, success: np.ndarray) -> np.ndarray:
    """For each row, successful rows of the same (account, key) strictly earlier in time."""
    df = pd.DataFrame({"a": account, "k": key, "t": t, "s": success.astype(np.int64)})
    order = np.lexsort((t, key, account))
    d = df.iloc[order]
    grp = d.groupby(["a", "k"], sort=False)
    before = grp["s"].cumsum().to_numpy() - d["s"].to_numpy()  # earlier rows in time order
    # rows at the same instant must not count each other: subtract same-time successes before
    same = d.groupby(["a", "k", "t"], sort=False)["s"]
    before -= (same.cumsum() - d["s"]).to_numpy()
    out = np.empty(len(df), dtype=np.int64)
    out[order] = before
    return out


def freeman_scores(logins: pd.DataFrame, global_until: pd.Timestamp, alpha: float = 1.0,
                   user_term: bool = True) -> pd.DataFrame:
    """One row per login in input order: event_id, freeman_score and freeman_<attribute>."""
    t = logins["event_time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]").astype(np.int64)
    until = np.datetime64(pd.Timestamp(global_until).tz_convert("UTC").tz_localize(None), "us").astype(np.int64)
    account = logins["account_id"].astype("string").to_numpy()
    success = (logins["outcome"] == "success").to_numpy()
    pop = success & (t < until)
    n_pop = int(pop.sum())
    n_u = _prior_counts(account, t, np.zeros(len(t), dtype=np.int64), success)
    out = pd.DataFrame({"event_id": logins["event_id"].to_numpy()})
    total = np.zeros(len(t))
    for name, v in _values(logins).items():
        counts = pd.Series(v[pop]).value_counts()
        V = len(counts)
        p_x = (pd.Series(v).map(counts).fillna(0).to_numpy() + 1.0) / (n_pop + V + 1.0)
        c_u = _prior_counts(account, t, v, success)
        p_xu = (c_u + alpha * p_x) / (n_u + alpha)
        contrib = np.log(p_x) - np.log(p_xu)
        out[f"freeman_{name}"] = contrib
        total += contrib
    if user_term:
        users = pd.Series(account[pop]).value_counts()
        U = max(len(users), 1)
        n_ug = pd.Series(account).map(users).fillna(0).to_numpy()
        total += np.log(1.0 / U) - np.log((n_ug + 1.0) / (n_pop + U))
    out.insert(1, "freeman_score", total)
    return out
