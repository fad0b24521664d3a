"""Fraud rings on top of the legitimate people (`ato.simulator.identities`), and the world they make.

A ring is 3-40 accounts run by one operator. Most are fabricated: names partially varied from a
few base identities or drawn at random, emails in one pattern, a drop address written several ways,
sign-ups in bursts, a pool of mule bank accounts, devices and proxy IPs that members reuse (not
every member every item), and the same mule payees. A quarter share a single hard attribute and
randomize everything else. Some rings are legitimate accounts taken over and cashed out: their
profiles are genuine, only their devices and payees after the takeover link them.

About half the rings are investigated: their case (`case_id`) is reported on a day of the world and
labels most members `fraud`; the others stay unknown. The truth names every ring.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from ato.simulator.identities import (
    FREE_MAIL,
    address_of,
    bank_of,
    email_of,
    legit_people,
    merchant_count,
    phone_of,
    pools,
    random_block,
    word,
    zipf_pick,
)

HARD = ("bank", "device", "ip", "phone", "address", "payee")


@dataclass
class RingWorld:
    """Profiles (the `accounts` stream), activity links, the truth and the investigated cases."""

    profiles: pd.DataFrame
    activity: pd.DataFrame
    truth: pd.DataFrame  # account_id, ring (-1 legit), style, household, company
    cases: pd.DataFrame  # account_id, case_id, reported_at (one `fraud` label per member found)
    start: datetime
    days: int


def _variant(rng: np.random.Generator, name: str) -> str:
    """A name as a ring writes it again: a typo, an initial, a swapped order or the same."""
    parts = name.split()
    k = int(rng.integers(5))
    if k == 0 and len(parts[0]) > 3:
        i = int(rng.integers(1, len(parts[0]) - 1))
        parts[0] = parts[0][:i] + parts[0][i + 1:]
    elif k == 1:
        parts[0] = parts[0][0] + "."
    elif k == 2:
        parts = parts[::-1]
    elif k == 3:
        parts[-1] = parts[-1] + str(rng.choice(["e", "s", "son"]))
    return " ".join(parts)


def _address_variant(rng: np.random.Generator, address: str, unit: int) -> str:
    num, *rest = address.split()
    street = " ".join(rest)
    forms = (f"{num} {street} Apt {unit}", f"{num} {street}, #{unit}", f"{num} {street.lower()} apt. {unit}",
             f"Flat {unit}, {num} {street}", f"{num} {street.replace('Street', 'St').replace('Road', 'Rd')} {unit}")
    return str(forms[int(rng.integers(len(forms)))])


def _ring_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.minimum(40, 3 + rng.geometric(0.11, n) - 1)


@dataclass
class _Operator:
    """One ring's operator: the hard attributes it reuses (`keep`), its pools of them, how often a
    member takes one (`share`), and its drop address, base identities and mail domain."""

    rng: np.random.Generator
    style: str
    keep: set[str]
    pool: dict[str, list[str]]
    share: float
    drop: tuple[str, str]
    bases: list[str]
    mail: str
    merchants: int  # merchant pool of the world (`identities.merchant_count`)
    must: str = ""  # every member shares at least one kept attribute: that is what makes it a member

    def pick(self, kind: str) -> str | None:
        use = kind in self.keep and (self.rng.random() < self.share or kind == self.must)
        return str(self.rng.choice(self.pool[kind])) if use else None

    def member(self, a: str, t: datetime, names: dict[str, np.ndarray], country: str) -> tuple[dict[str, object], list[tuple[str, str, str | None, datetime]]]:
        """A fabricated member's profile row and activity rows."""
        rng = self.rng
        self.must = str(rng.choice(sorted(self.keep)))
        if self.style == "fabricated" and rng.random() < 0.6:
            name = _variant(rng, str(rng.choice(self.bases)))
        else:
            name = f"{zipf_pick(rng, names['first'], 1)[0]} {zipf_pick(rng, names['last'], 1)[0]}"
        f, la = name.replace(".", "").split()[0], name.split()[-1]
        email = email_of(rng, f if len(f) > 1 else word(rng, 1), la, self.mail if self.style == "fabricated" else str(rng.choice(FREE_MAIL)))
        addr = self.pick("address")
        device = self.pick("device") or f"d{rng.integers(0, 2**62):016x}"
        ip = self.pick("ip") or f"{random_block(rng, int(rng.integers(60, 90)))}.{int(rng.integers(2, 250))}"
        row = {"account_id": a, "event_time": t, "email": email, "phone": self.pick("phone") or phone_of(rng),
               "full_name": name,
               "address": _address_variant(rng, self.drop[0], int(rng.integers(1, 40))) if addr else address_of(rng, names["street"]),
               "postal_code": self.drop[1] if addr else f"{int(rng.integers(10000, 99999))}",
               "country": country, "bank_account": self.pick("bank") or bank_of(rng, country),
               "business_name": None, "signup_ip": ip, "signup_device_id": device}
        act: list[tuple[str, str, str | None, datetime]] = [(a, "login_device", device, t), (a, "login_ip", ip, t), (a, "payment_method", f"pm_{a}_0", t),
               (a, "payee", self.pick("payee") or f"merchant_{int(rng.integers(self.merchants)):05d}", t + timedelta(days=1))]
        return row, act


def _operator(rng: np.random.Generator, style: str, r: int, seed: int, country: str, names: dict[str, np.ndarray],
              merchants: int) -> _Operator:
    keep = set(rng.choice(HARD, size=int(rng.integers(2, 5)), replace=False))
    if style == "single_link":
        keep = {str(rng.choice(["bank", "device", "payee"]))}
    pool = {"bank": [bank_of(rng, country) for _ in range(int(rng.integers(1, 4)))],
            "device": [f"d{rng.integers(0, 2**62):016x}" for _ in range(int(rng.integers(1, 4)))],
            "ip": [f"{random_block(rng, 45)}.{int(rng.integers(2, 250))}" for _ in range(int(rng.integers(1, 5)))],
            "phone": [phone_of(rng) for _ in range(int(rng.integers(1, 3)))],
            "payee": [f"mule_{seed}_{r}_{k}" for k in range(int(rng.integers(1, 4)))], "address": ["drop"]}
    drop = (address_of(rng, names["street"]), f"{int(rng.integers(10000, 99999))}")
    bases = [f"{zipf_pick(rng, names['first'], 1)[0]} {zipf_pick(rng, names['last'], 1)[0]}" for _ in range(int(rng.integers(1, 4)))]
    mail = str(rng.choice(FREE_MAIL))
    return _Operator(rng, style, keep, pool, float(rng.uniform(0.6, 0.95)), drop, bases, mail, merchants)


ACTIVITY_COLUMNS = ["account_id", "kind", "value", "time"]


def build_ring_world(accounts: int = 10000, days: int = 45, start: datetime = datetime(2026, 8, 1),
                     seed: int = 7, rings_per_10k: float = 40, investigated: float = 0.6) -> RingWorld:
    """Legitimate people plus rings: deterministic for a seed."""
    rng = np.random.default_rng([seed, 102])
    names = pools(np.random.default_rng([seed, 103]))
    people = legit_people([f"acct_{i:07d}" for i in range(accounts)], start, seed, names)
    sizes = _ring_sizes(rng, max(2, round(rings_per_10k * accounts / 10000)))
    profiles, activity = [people.profiles], [people.activity]
    truth_rows: list[dict[str, object]] = []
    legit_ids = people.profiles["account_id"].to_numpy()
    taken: set[str] = set()
    next_id = accounts
    for r, size in enumerate(sizes):
        style = str(rng.choice(["fabricated", "single_link", "takeover"], p=[0.6, 0.25, 0.15]))
        burst = start + timedelta(days=float(rng.uniform(-60, days - 1)))
        op, country = new_operator(rng, style, r, seed, names, merchant_count(accounts))
        if style == "takeover":  # genuine profiles; only the operator's devices and mule payees link them
            free = [a for a in legit_ids if a not in taken]
            members = [str(a) for a in rng.choice(free, size=int(size), replace=False)]
            taken.update(members)
            op.keep, op.share = {"device", "payee"}, 1.0
            for a in members:
                t = start + timedelta(days=float(rng.uniform(0, days - 1)))
                activity.append(pd.DataFrame([(a, "login_device", op.pick("device"), t), (a, "payee", op.pick("payee"), t)],
                                             columns=ACTIVITY_COLUMNS))
        else:
            members, rows, acts = fabricated_ring(op, next_id, int(size), burst, names, country)
            next_id += len(members)
            profiles.append(pd.DataFrame(rows))
            activity += acts
        truth_rows += [{"account_id": a, "ring": r, "style": style} for a in members]
    truth = ring_truth(people.truth, pd.DataFrame(truth_rows))
    return RingWorld(pd.concat(profiles, ignore_index=True), pd.concat(activity, ignore_index=True).dropna(),
                     truth, investigated_cases(rng, truth, start, days, investigated), start, days)


def fabricated_ring(op: _Operator, first_id: int, size: int, burst: datetime, names: dict[str, np.ndarray],
                    country: str) -> tuple[list[str], list[dict[str, object]], list[pd.DataFrame]]:
    """`size` new accounts (`acct_<first_id>`...) signed up by one operator around `burst`: their ids,
    profile rows and activity frames."""
    members, rows, acts = [], [], []
    for i in range(size):
        a = f"acct_{first_id + i:07d}"
        row, act = op.member(a, burst + timedelta(hours=float(op.rng.exponential(6))), names, country)
        members.append(a)
        rows.append(row)
        acts.append(pd.DataFrame(act, columns=ACTIVITY_COLUMNS))
    return members, rows, acts


def new_operator(rng: np.random.Generator, style: str, r: int, seed: int, names: dict[str, np.ndarray],
                 merchants: int) -> tuple[_Operator, str]:
    """Ring `r`'s operator of `style` and its country."""
    country = str(rng.choice(["US", "GB", "DE", "FR", "NL"]))
    return _operator(rng, style, r, seed, country, names, merchants), country


def ring_truth(people: pd.DataFrame, rings: pd.DataFrame) -> pd.DataFrame:
    """account_id, ring (-1: none), style, household, company for every account."""
    truth = people.assign(ring=-1, style="legit").set_index("account_id")
    taken = rings["account_id"].isin(truth.index)
    truth.loc[rings.loc[taken, "account_id"], ["ring", "style"]] = rings.loc[taken, ["ring", "style"]].to_numpy()
    new = rings.loc[~taken].assign(household=-1, company=-1).set_index("account_id")
    out = pd.concat([truth, new]).reset_index()
    out["ring"] = out["ring"].astype(int)
    return out


def investigated_cases(rng: np.random.Generator, truth: pd.DataFrame, start: datetime, days: int, share: float,
                       active: dict[int, datetime] | None = None) -> pd.DataFrame:
    """Investigated rings: a case id, a report day, most members labelled.

    Without `active` a case is reported on a day of the world. With it (ring -> when its last member
    signed up or was taken over) the report comes 3-40 days after that; a case reported before the
    world's start is in the case history exported on its first day. A ring active a month before
    the start had that month to be caught too: it is investigated with 1 - (1 - share)^2."""
    rows = []
    for r, g in truth[truth["ring"] >= 0].groupby("ring"):
        older = active is not None and active[int(r)] < start - timedelta(days=30)
        if rng.random() >= (1 - (1 - share) ** 2 if older else share):
            continue
        if active is None:
            when = start + timedelta(days=float(rng.uniform(3, days)))
        else:
            when = max(start, active[int(r)] + timedelta(days=float(rng.uniform(3, 40))))
        found = g["account_id"].to_numpy()
        found = found[rng.random(len(found)) < 0.85] if len(found) > 3 else found
        rows += [{"account_id": a, "case_id": f"case_{int(r):04d}", "reported_at": when} for a in found]
    return pd.DataFrame(rows, columns=["account_id", "case_id", "reported_at"])
