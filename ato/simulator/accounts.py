"""The `accounts` stream of the main world, and its fraud rings.

Every account of the population gets a genuine profile (`ato.simulator.identities.legit_people`:
households, colleagues, carrier NAT, free mail), exported on the first day (`created_at`: when it
was really opened). Fabricating operators (`ato.simulator.ring_world`) sign up rings of new accounts
during the world; each member logs in from the operator's devices and IPs and pays its mule payees.
The world's `fraud_ring` takeover campaigns are rings too (one operator, shared devices and payees).
Investigated rings are reported as analyst `fraud` labels with a `case_id`; the truth names them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from ato.simulator.identities import legit_people, merchant_count, pools
from ato.simulator.ring_world import fabricated_ring, investigated_cases, new_operator, ring_truth

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@dataclass
class RingStreams:
    """What the rings add to the world: profiles, their logins and payments, case labels, truth."""

    profiles: pd.DataFrame  # the `accounts` contract's fields
    logins: pd.DataFrame  # account_id, t (ms), ip, device_id
    payments: pd.DataFrame  # account_id, t (ms), payee_id, payment_method_id, ip, device_id, amount
    cases: pd.DataFrame  # account_id, case_id, reported_at (datetime)
    truth: pd.DataFrame  # every account: account_id, ring (-1: none), style, household, company


def _ms(t: datetime) -> int:
    return int(t.replace(tzinfo=UTC).timestamp() * 1000)


def epoch_ms(times: pd.Series) -> pd.Series:
    """Naive UTC datetimes -> epoch milliseconds (the simulator's time unit)."""
    return pd.Series([_ms(t) for t in times], index=times.index, dtype="int64")


def _into_world(act: list[pd.DataFrame], rng: np.random.Generator, start: datetime, days: int) -> list[pd.DataFrame]:
    """An established ring's members keep being used: each member's activity moved to a time in the world."""
    out = []
    for frame in act:
        when = start + timedelta(days=float(rng.uniform(0, max(days - 1, 1))))
        out.append(frame.assign(time=frame["time"] - frame["time"].min() + when))
    return out


def ring_streams(accounts: list[str], start: datetime, days: int, seed: int, rings_per_10k: float,
                 investigated: float, takeover_rings: pd.DataFrame, established: float = 0.0) -> RingStreams:
    """Profiles for `accounts`, plus fabricated rings: a share `established` signed up 10-180 days
    before the world (profiles exported on its first day, members active during it), the rest
    signed up inside the world's `days`.

    `takeover_rings`: (account_id, campaign, t in ms) of the world's successful `fraud_ring` takeovers.
    """
    rng = np.random.default_rng([seed, 202])
    names = pools(np.random.default_rng([seed, 103]))
    people = legit_people(accounts, start, seed, names)
    legit = people.profiles.rename(columns={"event_time": "created_at"}).assign(event_time=start)
    n = round(rings_per_10k * len(accounts) / 10000)
    sizes = np.minimum(40, 3 + rng.geometric(0.11, n) - 1)
    profiles, acts, truth = [legit], [], []
    active: dict[int, datetime] = {}  # ring -> its last sign-up or takeover
    next_id = len(accounts)
    for r, size in enumerate(sizes):
        style = str(rng.choice(["fabricated", "single_link"], p=[0.7, 0.3]))
        op, country = new_operator(rng, style, r, seed, names, merchant_count(len(accounts)))
        old = rng.random() < established
        burst = start + timedelta(days=float(rng.uniform(-180, -10) if old else rng.uniform(0, max(days - 2, 1))))
        members, rows, act = fabricated_ring(op, next_id, int(size), burst, names, country)
        next_id += len(members)
        frame = pd.DataFrame(rows).assign(created_at=lambda d: d["event_time"])
        active[r] = frame["created_at"].max()
        profiles.append(frame.assign(event_time=start) if old else frame)
        acts += _into_world(act, rng, start, days) if old else act
        truth += [{"account_id": a, "ring": r, "style": style} for a in members]
    for c, g in takeover_rings.groupby("campaign"):
        truth += [{"account_id": a, "ring": 1000 + int(c), "style": "takeover"} for a in sorted(set(g["account_id"]))]
        active[1000 + int(c)] = datetime.fromtimestamp(int(g["t"].max()) / 1000, UTC).replace(tzinfo=None)
    members = pd.DataFrame(truth, columns=["account_id", "ring", "style"]).drop_duplicates("account_id")
    activity = pd.concat(acts, ignore_index=True) if acts else pd.DataFrame(columns=["account_id", "kind", "value", "time"])
    wide = (activity.pivot_table(index="account_id", columns="kind", values="value", aggfunc="first")
            .reindex(columns=["login_ip", "login_device", "payee", "payment_method"]))
    when = activity[activity["kind"] == "login_device"].set_index("account_id")["time"]
    paid = activity[activity["kind"] == "payee"].set_index("account_id")["time"]
    logins = pd.DataFrame({"account_id": wide.index, "t": [_ms(t) for t in when.reindex(wide.index)],
                           "ip": wide["login_ip"].to_numpy(), "device_id": wide["login_device"].to_numpy()}, dtype=object)
    payments = pd.DataFrame({"account_id": wide.index, "t": [_ms(t) for t in paid.reindex(wide.index)],
                             "payee_id": wide["payee"].to_numpy(), "payment_method_id": wide["payment_method"].to_numpy(),
                             "ip": wide["login_ip"].to_numpy(), "device_id": wide["login_device"].to_numpy(),
                             "amount": np.round(rng.uniform(150, 2500, len(wide)), 2)})
    end = _ms(start + timedelta(days=days))
    logins = logins.astype({"t": "int64"})
    everyone = ring_truth(people.truth, members)
    cases = investigated_cases(rng, everyone, start, days, investigated, active)
    cases = cases[pd.Series([_ms(t) < end for t in cases["reported_at"]], index=cases.index, dtype=bool)]
    fields = [c for c in people.profiles.columns if c not in ("account_id", "event_time")]
    out = pd.concat(profiles, ignore_index=True)[["account_id", "event_time", "created_at", *fields]]
    return RingStreams(out, logins[logins["t"] < end].reset_index(drop=True), payments[payments["t"] < end].reset_index(drop=True), cases.reset_index(drop=True),
                       everyone)
