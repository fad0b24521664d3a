"""The Freeman et al. (2016) RBA baseline: history rules, the population cut-off, and a
randomised check against a slow per-row reference implementation."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ato.model.freeman import ATTRIBUTES, LOGIN_COLUMNS, freeman_scores

pytestmark = pytest.mark.unit

T0 = pd.Timestamp("2026-08-01T00:00:00Z")
UNTIL = T0 + pd.Timedelta(days=30)
ATTR_COLS = [f"freeman_{a}" for a in ATTRIBUTES]


def login(hour: float, account: str = "a1", outcome: str = "success", ip: str | None = "ip1",
          asn: int | None = 100, country: str | None = "US", ua_family: str | None = "Chrome",
          ua_major: int | None = 128, os_family: str | None = "Windows") -> dict[str, Any]:
    """One login `hour` hours after T0; every attribute defaults to the usual value."""
    return {"account_id": account, "event_time": T0 + pd.Timedelta(hours=hour), "outcome": outcome,
            "ip_hash": ip, "asn": asn, "country": country, "ua_family": ua_family,
            "ua_major": ua_major, "os_family": os_family}


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A silver-login frame with the loader's dtypes; event ids e0, e1, ... in row order."""
    df = pd.DataFrame(rows)
    df.insert(0, "event_id", [f"e{i}" for i in range(len(df))])
    df["event_time"] = pd.to_datetime(df["event_time"], utc=True)
    df["asn"] = df["asn"].astype("Int64")
    df["ua_major"] = pd.Series([None if pd.isna(v) else int(v) for v in df["ua_major"]], dtype=object)
    return df[list(LOGIN_COLUMNS)]


def by_event(scored: pd.DataFrame) -> pd.DataFrame:
    return scored.set_index("event_id")


def population(n: int = 6) -> list[dict[str, Any]]:
    """Other accounts' successful logins, so the population is not just one user."""
    return [login(i, account=f"p{i}", ip=f"pip{i}", asn=200 + i % 3) for i in range(n)]


def test_usual_login_scores_lower_than_everything_new() -> None:
    history = [login(h) for h in range(10)]
    usual = login(20)
    new = login(20, ip="ip9", asn=999, country="BR", ua_family="Firefox", ua_major=99)
    s = by_event(freeman_scores(frame([*population(), *history, usual, new]), UNTIL))
    i_usual, i_new = "e16", "e17"
    assert s.loc[i_usual, "freeman_score"] < s.loc[i_new, "freeman_score"]
    for col in ("freeman_ip", "freeman_asn", "freeman_country", "freeman_browser"):
        assert s.loc[i_usual, col] < 0 < s.loc[i_new, col]
    assert s.loc[i_usual, "freeman_os"] == pytest.approx(s.loc[i_new, "freeman_os"])


def test_same_timestamp_and_failed_logins_are_not_history() -> None:
    rows = [login(0, outcome="bad_password", ip="bad"), login(1), login(1), login(2)]
    s = freeman_scores(frame(rows), UNTIL, user_term=False)
    # first three rows: no successful login strictly earlier, so nothing to compare with
    assert (s.loc[:2, ATTR_COLS].to_numpy() == 0).all()
    # the last row has exactly the two tied successes as history: n_u = c_u = 2
    p_ip = (3 + 1) / (3 + 1 + 1)  # 3 successful logins, one distinct ip
    expected = math.log(p_ip) - math.log((2 + p_ip) / (2 + 1))
    assert s.loc[3, "freeman_ip"] == pytest.approx(expected, abs=1e-12)
    assert s.loc[3, "freeman_score"] == pytest.approx(5 * expected, abs=1e-12)


def test_population_ignores_logins_after_global_until() -> None:
    until = T0 + pd.Timedelta(hours=10)
    mine = [login(h) for h in (0, 2, 4, 12, 14)] + [login(15, ip="ip2", country="DE")]
    base = [login(3, account="b", ip="x")]
    later = [login(11, account="c", ip=ip, asn=7, country="FR") for ip in ("ip1", "ip2", "y")]
    a = freeman_scores(frame([*mine, *base]), until)
    b = freeman_scores(frame([*mine, *base, *later]), until)
    np.testing.assert_allclose(b.iloc[: len(mine)].drop(columns="event_id").to_numpy(),
                               a.iloc[: len(mine)].drop(columns="event_id").to_numpy(), atol=1e-12)
    # the same change before the cut-off does move the scores (the test has teeth)
    earlier = [{**r, "event_time": T0 + pd.Timedelta(hours=5)} for r in later]
    c = freeman_scores(frame([*mine, *base, *earlier]), until)
    assert not np.allclose(c.iloc[: len(mine)]["freeman_score"], a.iloc[: len(mine)]["freeman_score"])


def test_no_history_means_zero_attribute_contributions() -> None:
    rows = [*population(), login(5, account="new", ip="zz", asn=None, country=None, ua_major=None)]
    s = freeman_scores(frame(rows), UNTIL)
    assert (s.iloc[-1][ATTR_COLS].to_numpy(dtype=float) == 0).all()
    off = freeman_scores(frame(rows), UNTIL, user_term=False)
    assert off.iloc[-1]["freeman_score"] == 0


def test_output_order_and_length_match_input() -> None:
    rows = [*population(), *(login(h, ip=f"ip{h % 3}") for h in range(12))]
    df = frame(rows)
    shuffled = df.sample(frac=1.0, random_state=3)
    out = freeman_scores(shuffled, UNTIL)
    assert list(out["event_id"]) == list(shuffled["event_id"])
    assert list(out.columns) == ["event_id", "freeman_score", *ATTR_COLS]
    pd.testing.assert_frame_equal(by_event(out).loc[df["event_id"]], by_event(freeman_scores(df, UNTIL)))
    assert len(freeman_scores(df.iloc[:0], UNTIL)) == 0


def test_loader_dtypes_do_not_split_values() -> None:
    df = frame([*population(), *(login(h, asn=100 + h % 2, ua_major=None if h == 3 else 128)
                                 for h in range(8))])
    floats = df.assign(asn=df["asn"].astype("float64"), ua_major=df["ua_major"].astype("float64"))
    pd.testing.assert_frame_equal(freeman_scores(floats, UNTIL), freeman_scores(df, UNTIL))


def _value(r: dict[str, Any], attr: str) -> str:
    def s(v: Any) -> str:
        return "?" if v is None or pd.isna(v) else str(int(v) if isinstance(v, float) else v)

    cols = {"ip": "ip_hash", "asn": "asn", "country": "country", "os": "os_family"}
    if attr == "browser":
        return f"{s(r['ua_family'])}/{s(r['ua_major'])}"
    return s(r[cols[attr]])


def reference(df: pd.DataFrame, until: pd.Timestamp, alpha: float, user_term: bool) -> pd.DataFrame:
    """The formula, row by row, straight from its definition."""
    recs = df.to_dict("records")
    ok = [r for r in recs if r["outcome"] == "success"]
    pop = [r for r in ok if r["event_time"] < until]
    n = len(pop)
    users = Counter(r["account_id"] for r in pop)
    n_users = max(len(users), 1)
    out = []
    for r in recs:
        hist = [h for h in ok if h["account_id"] == r["account_id"] and h["event_time"] < r["event_time"]]
        row: dict[str, Any] = {"event_id": r["event_id"], "freeman_score": 0.0}
        for a in ATTRIBUTES:
            counts = Counter(_value(h, a) for h in pop)
            p = (counts[_value(r, a)] + 1) / (n + len(counts) + 1)
            c_u = sum(_value(h, a) == _value(r, a) for h in hist)
            row[f"freeman_{a}"] = math.log(p) - math.log((c_u + alpha * p) / (len(hist) + alpha))
            row["freeman_score"] += row[f"freeman_{a}"]
        if user_term:
            p_legit = (users[r["account_id"]] + 1) / (n + n_users)
            row["freeman_score"] += math.log(1 / n_users) - math.log(p_legit)
        out.append(row)
    return pd.DataFrame(out)


def random_logins(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def pick(options: list[Any]) -> Any:
        return options[int(rng.integers(len(options)))]

    rows = [login(int(rng.integers(0, 40)), account=pick([f"a{i}" for i in range(6)]),
                  outcome=pick(["success"] * 3 + ["bad_password", "bad_mfa", "locked"]),
                  ip=pick(["i1", "i2", "i3", "i4", None]), asn=pick([1, 2, 3, None]),
                  country=pick(["US", "DE", "FR", None]), ua_family=pick(["Chrome", "Firefox", None]),
                  ua_major=pick([120, 121, None]), os_family=pick(["Windows", "Mac", None]))
            for _ in range(n)]
    return frame(rows)


@pytest.mark.parametrize(("seed", "alpha", "user_term"), [(0, 1.0, True), (1, 0.3, True), (2, 2.5, False)])
def test_matches_slow_reference(seed: int, alpha: float, user_term: bool) -> None:
    df = random_logins(seed)
    until = T0 + pd.Timedelta(hours=20)
    got = freeman_scores(df, until, alpha=alpha, user_term=user_term)
    want = reference(df, until, alpha, user_term)
    assert list(got["event_id"]) == list(want["event_id"])
    for col in ["freeman_score", *ATTR_COLS]:
        np.testing.assert_allclose(got[col].to_numpy(), want[col].to_numpy(), rtol=0, atol=1e-9)
