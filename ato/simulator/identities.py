"""Who the account holders say they are: names, emails, phones, addresses, bank accounts, sign-up
IP and device, with the sharing real customers have (README "Fraud rings").

Legitimate sharing the ring finder must not mistake for a ring:
- households of 2-5 people at one address, on one home connection, often one shared tablet, a
  surname in common and now and then a joint bank account;
- colleagues behind one office IP, many with a work email at the company's domain;
- a few mobile-carrier NAT /24s that thousands of customers sign up and log in from;
- free-mail domains and merchants everybody uses.

Every draw comes from its own generator seeded by (seed, stream), so the identities never change
what the rest of the simulator draws. `ato.simulator.ring_world` adds the rings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "PL", "BR", "CA")
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me", "gmx.de", "hotmail.com", "web.de")
STREET_KINDS = ("Street", "Road", "Avenue", "Lane", "Way", "Place")
_ONSETS = ("b", "br", "c", "ch", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "st", "t", "v", "w", "z")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ie", "ou")
_CODAS = ("", "", "n", "r", "s", "l", "m", "th", "ck", "nd", "rt", "x")
NAT_BLOCKS = 4  # carrier NAT /24s
NAT_IPS = 40  # addresses in use per NAT /24


def word(rng: np.random.Generator, syllables: int) -> str:
    """A pronounceable made-up word (names, streets, companies)."""
    return "".join(str(rng.choice(_ONSETS)) + str(rng.choice(_VOWELS)) + str(rng.choice(_CODAS))
                   for _ in range(syllables)).capitalize()


def pools(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Name, surname and street pools, Zipf-weighted when drawn (a few common, a long tail)."""
    def pool(n: int, lo: int, hi: int) -> np.ndarray:
        return rng.permutation(np.unique([word(rng, int(rng.integers(lo, hi))) for _ in range(n)]))

    return {"first": pool(600, 1, 3), "last": pool(3000, 2, 4), "street": pool(800, 1, 3)}


def zipf_pick(rng: np.random.Generator, pool: np.ndarray, n: int, a: float = 0.8) -> np.ndarray:
    w = 1.0 / np.arange(1, len(pool) + 1) ** a
    return pool[rng.choice(len(pool), size=n, p=w / w.sum())]


def ip_in(block: str, host: int) -> str:
    return f"{block}.{host}"


def random_block(rng: np.random.Generator, first: int) -> str:
    return f"{first}.{int(rng.integers(0, 256))}.{int(rng.integers(0, 256))}"


def email_of(rng: np.random.Generator, first: str, last: str, domain: str) -> str:
    f, la = first.lower(), last.lower()
    style = int(rng.integers(4))
    local = (f"{f}.{la}", f"{f[0]}{la}", f"{f}{la}{int(rng.integers(60, 100))}", f"{la}.{f}{int(rng.integers(1, 999))}")[style]
    return f"{local}@{domain}"


def phone_of(rng: np.random.Generator) -> str:
    return f"+{int(rng.integers(1, 60))} {int(rng.integers(200, 999))} {int(rng.integers(1000000, 9999999))}"


def bank_of(rng: np.random.Generator, country: str) -> str:
    return f"{country}{int(rng.integers(10, 99))}BANK{int(rng.integers(0, 10**10)):010d}"


def address_of(rng: np.random.Generator, streets: np.ndarray) -> str:
    return f"{int(rng.integers(1, 300))} {zipf_pick(rng, streets, 1)[0]} {rng.choice(STREET_KINDS)}"


@dataclass
class People:
    """Legitimate account holders as parallel columns; `activity` rows: (account_id, kind, value, time)."""

    profiles: pd.DataFrame  # one row per account: the `accounts` contract's fields
    activity: pd.DataFrame  # account_id, kind (login_device|login_ip|payee|payment_method), value, time
    truth: pd.DataFrame  # account_id, household, company


def legit_people(accounts: list[str], start: datetime, seed: int, p: dict[str, np.ndarray] | None = None) -> People:
    """Profiles and activity of legitimate accounts, with households, colleagues and carrier NAT."""
    rng = np.random.default_rng([seed, 101])
    p = p or pools(rng)
    n = len(accounts)
    first, last = zipf_pick(rng, p["first"], n), zipf_pick(rng, p["last"], n, 0.6)
    country = rng.choice(COUNTRIES, size=n)
    home = np.array([random_block(rng, int(rng.integers(60, 90))) for _ in range(n)], dtype=object)
    home_ip = np.array([ip_in(b, int(rng.integers(2, 250))) for b in home], dtype=object)
    address = np.array([address_of(rng, p["street"]) for _ in range(n)], dtype=object)
    postal = np.array([f"{int(rng.integers(10000, 99999))}" for _ in range(n)], dtype=object)
    bank = np.array([bank_of(rng, c) for c in country], dtype=object)
    devices = [[f"d{rng.integers(0, 2**62):016x}" for _ in range(int(rng.integers(1, 4)))] for _ in range(n)]
    domain = np.array(zipf_pick(rng, np.array(FREE_MAIL), n, 1.0), dtype=object)
    household = np.full(n, -1)
    company = np.full(n, -1)
    office_ip: dict[int, str] = {}
    order = rng.permutation(n)
    i, h = 0, 0
    while i < int(0.12 * n):  # households: 12 % of accounts
        size = int(rng.integers(2, 6))
        members = order[i:i + size]
        head = members[0]
        shared_device = devices[head][0] if rng.random() < 0.7 else None
        for m in members[1:]:
            if rng.random() < 0.85:
                last[m] = last[head]
            address[m], postal[m], home[m], home_ip[m], country[m] = address[head], postal[head], home[head], home_ip[head], country[head]
            if shared_device:
                devices[m].append(shared_device)
        if size >= 2 and rng.random() < 0.3:  # a joint account of the couple
            bank[members[1]] = bank[head]
        household[members] = h
        i, h = i + size, h + 1
    c = 0
    while i < int(0.12 * n) + int(0.06 * n):  # colleagues: 6 % of accounts, companies of 5-60
        size = int(rng.integers(5, 61))
        members = order[i:i + size]
        office_ip[c] = ip_in(random_block(rng, int(rng.integers(100, 120))), int(rng.integers(2, 250)))
        work_domain = f"{word(rng, 2).lower()}-corp.com"
        for m in members:
            if rng.random() < 0.4:
                domain[m] = work_domain
        company[members] = c
        i, c = i + size, c + 1
    nat = [random_block(rng, 172) for _ in range(NAT_BLOCKS)]
    on_nat = rng.random(n) < 0.3
    nat_ip = np.array([ip_in(nat[int(rng.integers(NAT_BLOCKS))], int(rng.integers(1, NAT_IPS + 1))) for _ in range(n)], dtype=object)
    age_days = rng.exponential(700, n) + 1
    signup = [start - timedelta(days=float(a)) for a in age_days]
    signup_ip = np.where(on_nat & (rng.random(n) < 0.5), nat_ip, home_ip)
    for m in np.flatnonzero(company >= 0):
        if rng.random() < 0.3:
            signup_ip[m] = office_ip[int(company[m])]
    profiles = pd.DataFrame({
        "account_id": accounts, "event_time": signup,
        "email": [email_of(rng, f, la, d) for f, la, d in zip(first, last, domain, strict=True)],
        "phone": [phone_of(rng) for _ in range(n)],
        "full_name": [f"{f} {la}" for f, la in zip(first, last, strict=True)],
        "address": address, "postal_code": postal, "country": country, "bank_account": bank,
        "business_name": [word(rng, 2) + " Ltd" if rng.random() < 0.05 else None for _ in range(n)],
        "signup_ip": signup_ip, "signup_device_id": [d[0] for d in devices],
    })
    merchants = np.array([f"merchant_{k:05d}" for k in range(merchant_count(n))], dtype=object)
    rows: list[tuple[str, str, str, datetime]] = []
    for k, acct in enumerate(accounts):
        t = start + timedelta(hours=float(rng.uniform(0, 24 * 30)))
        rows += [(acct, "login_device", d, t) for d in devices[k]]
        rows.append((acct, "login_ip", home_ip[k], t))
        if on_nat[k]:
            rows.append((acct, "login_ip", nat_ip[k], t))
        if company[k] >= 0:
            rows.append((acct, "login_ip", office_ip[int(company[k])], t))
        rows += [(acct, "payee", str(m), t) for m in set(zipf_pick(rng, merchants, int(rng.integers(3, 10)), 0.9))]
        rows.append((acct, "payment_method", f"pm_{acct}_0", t))
    for hh in np.unique(household[household >= 0]):  # the landlord (or a relative) the household pays
        landlord = f"payee_{seed}_{hh}"
        for m in np.flatnonzero(household == hh):
            if rng.random() < 0.5:
                rows.append((accounts[m], "payee", landlord, start))
    activity = pd.DataFrame(rows, columns=["account_id", "kind", "value", "time"])
    truth = pd.DataFrame({"account_id": accounts, "household": household, "company": company})
    return People(profiles, activity, truth)


def merchant_count(accounts: int) -> int:
    """Merchants grow with the platform (one per 25 accounts): a fixed list would make every merchant
    popular at 100,000 accounts, capped out of the candidates, and hide how candidates scale."""
    return max(400, accounts // 25)
