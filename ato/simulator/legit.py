"""One day of legitimate behaviour: logins at habitual hours, typos, travel, VPNs, new phones,
sessions' payments and the occasional account change."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ato.simulator.config import SimulatorConfig
from ato.simulator.frames import Columns, Devices
from ato.simulator.geo import Internet
from ato.simulator.population import Population

DAY_MS = 86_400_000
CHANGE_TYPES = np.array(["password_reset", "email_change", "phone_change", "mfa_reset", "payout_method_added"])
CHANGE_P = np.array([0.35, 0.15, 0.2, 0.05, 0.25])


@dataclass
class World:
    """Everything the day generators share."""

    cfg: SimulatorConfig
    net: Internet
    pop: Population
    devs: Devices
    rng: np.random.Generator
    t0_ms: int  # start of day 0, epoch ms
    travel_city: np.ndarray  # [accounts, days] city idx or -1
    city_block: np.ndarray  # a residential block per city idx
    botnet: np.ndarray  # infected home routers (IPs) that stuffing waves reuse
    logins: Columns
    payments: Columns
    changes: Columns
    proxies: dict[str, np.ndarray] = field(default_factory=dict)  # residential proxy exits per country (mimicry)


def plan_travel(cfg: SimulatorConfig, net: Internet, pop: Population, rng: np.random.Generator) -> np.ndarray:
    """Trips of travellers: 1-2 stays of 2-9 days in another city (often abroad)."""
    travel = np.full((pop.n, cfg.days), -1, dtype=np.int16)
    n_cities = len(net.cities)
    for a in np.flatnonzero(pop.traveler):
        for _ in range(int(rng.integers(1, 3))):
            start = int(rng.integers(0, cfg.days))
            dest = int(rng.integers(n_cities))
            if dest == pop.home_city[a]:
                continue
            travel[a, start : start + int(rng.integers(2, 10))] = dest
    return travel


def legit_day(w: World, day: int) -> None:
    """Append one day of legitimate logins, payments and changes."""
    cfg, pop, rng, devs, net = w.cfg, w.pop, w.rng, w.devs, w.net
    day_ms = w.t0_ms + day * DAY_MS
    # Life events: new phones, ISP re-assigning home addresses.
    for acct in np.flatnonzero(rng.random(pop.n) < cfg.new_phone_rate_per_day):
        devs.acct_dev[acct, int(rng.integers(devs.n_dev[acct]))] = devs.add(rng, "app")
    moved = np.flatnonzero(rng.random(pop.n) < 0.01)
    pop.home_ip[moved] = net.random_ip(rng, pop.home_block[moved])

    a = np.repeat(np.arange(pop.n), rng.poisson(pop.rate))
    m = len(a)
    hour = np.mod(pop.habit_hour_utc[a] + rng.normal(0, 1, m) * pop.habit_spread[a], 24)
    t = np.asarray((hour * 3_600_000).astype(np.int64) + day_ms)
    slot = (rng.random(m) * devs.n_dev[a]).astype(np.int64)
    dev = devs.acct_dev[a, slot]
    for i in np.flatnonzero(rng.random(m) < 0.004):  # a friend's laptop, a fresh browser
        dev[i] = devs.add(rng, "desktop")
    kinds = np.asarray(devs.kinds, dtype=object)[dev]
    ip = pop.home_ip[a].copy()
    mobile = (kinds != "desktop") & (rng.random(m) < 0.45)
    ip[mobile] = net.random_ip(rng, pop.mobile_block[a[mobile]])
    vpn = pop.vpn_user[a] & (rng.random(m) < 0.5)
    ip[vpn] = net.random_ip(rng, pop.vpn_block[a[vpn]])
    dest = w.travel_city[a, day].astype(np.int64)
    away = dest >= 0
    ip[away] = net.random_ip(rng, w.city_block[dest[away]])  # hotel wifi in the city visited
    w.logins.add(m, account=pop.account_id[a], t=t, ip=ip, device=dev, outcome="success", attack="", campaign=-1)
    # Typos: a failed attempt seconds before the successful one.
    typo = np.flatnonzero(rng.random(m) < cfg.typo_rate)
    w.logins.add(
        len(typo), account=pop.account_id[a[typo]], t=t[typo] - rng.integers(5_000, 90_000, len(typo)),
        ip=ip[typo], device=dev[typo], outcome="bad_password", attack="", campaign=-1,
    )
    mfa = np.flatnonzero(rng.random(m) < 0.005)
    w.logins.add(
        len(mfa), account=pop.account_id[a[mfa]], t=t[mfa] - rng.integers(20_000, 120_000, len(mfa)),
        ip=ip[mfa], device=dev[mfa], outcome="bad_mfa", attack="", campaign=-1,
    )
    _legit_payments(w, a, t, ip, dev)
    ch = np.flatnonzero(rng.random(m) < 0.003)
    w.changes.add(
        len(ch), account=pop.account_id[a[ch]], t=t[ch] + rng.integers(30_000, 600_000, len(ch)),
        change_type=rng.choice(CHANGE_TYPES, size=len(ch), p=CHANGE_P).astype(object),
        ip=ip[ch], device=dev[ch], attack="", campaign=-1,
    )


def _legit_payments(w: World, a: np.ndarray, t: np.ndarray, ip: np.ndarray, dev: np.ndarray) -> None:
    rng, pop = w.rng, w.pop
    pay = np.flatnonzero(rng.random(len(a)) < 0.3)
    pay = np.concatenate([pay, pay[rng.random(len(pay)) < 0.3]])
    n = len(pay)
    acct = a[pay]
    amount = np.round(np.exp(pop.amount_mu[acct] + rng.normal(0, 0.6, n)), 2)
    status = rng.choice(
        np.array(["succeeded", "failed", "declined", "refunded", "chargeback"], dtype=object),
        size=n, p=[0.95, 0.025, 0.0145, 0.01, 0.0005],
    )
    payee = np.array([pop.payees[x][rng.integers(len(pop.payees[x]))] for x in acct], dtype=np.int64)
    fresh = rng.random(n) < 0.1
    payee[fresh] = rng.integers(0, max(200, pop.n // 5) * 3, int(fresh.sum()))
    w.payments.add(
        n, account=pop.account_id[acct], t=t[pay] + rng.integers(10_000, 900_000, n), amount=amount,
        currency=pop.currency[acct], status=status, payee=payee, method=pop.payment_method[acct],
        device=dev[pay], ip=ip[pay], attack="", campaign=-1,
    )
