"""Attack campaigns. Each appends attacker logins, account changes and payments tagged with
its attack type and campaign id (ground truth that never reaches the event files), and
returns the reputation-feed entries the campaign eventually earns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ato.simulator.geo import ip_to_str_one
from ato.simulator.legit import DAY_MS, World
from ato.simulator.population import BROWSER_UAS, render_ua

HOUR = 3_600_000
SCRIPT_UAS = ("python-requests/2.31.0", "curl/8.4.0", "Go-http-client/1.1", "okhttp/4.12.0")


@dataclass
class Campaign:
    """Ground truth about one campaign."""

    campaign_id: int
    attack_type: str
    start_ms: int
    attempts: int = 0
    accounts_targeted: int = 0
    accounts_compromised: int = 0


RepEntry = tuple[str, str, float, int]  # network, category, score, as_of ms


def _foreign_ip(w: World, victim: int, kind_p: tuple[float, float, float]) -> int:
    """An attacker IP: residential abroad, hosting, or tor (given probabilities)."""
    rng, net = w.rng, w.net
    r = rng.random()
    if r < kind_p[0]:
        home_cc = net.countries[w.pop.home_city[victim]]
        foreign = np.flatnonzero(net.countries != home_cc)
        return int(net.random_ip(rng, np.array([w.city_block[rng.choice(foreign)]]))[0])
    hosting = net.blocks_where("hosting")
    if r < kind_p[0] + kind_p[1]:
        return int(net.random_ip(rng, np.array([rng.choice(hosting)]))[0])
    base = int(net.block_base(np.array([hosting[0]]))[0])
    return base + (int(rng.integers(200, 208)) << 8) + int(rng.integers(1, 255))  # tor exits


def _login(w: World, victim: int, t: int, ip: int, dev: int, outcome: str, attack: str, cid: int) -> None:
    w.logins.add(1, account=w.pop.account_id[victim], t=np.array([t]), ip=np.array([ip]),
                 device=np.array([dev]), outcome=outcome, attack=attack, campaign=cid)


def _cash_out(w: World, victim: int, t: int, ip: int, dev: int, attack: str, cid: int,
              factor: tuple[float, float], change: str | None = "payout_method_added",
              payees: np.ndarray | None = None) -> None:
    """What a takeover is for: a payout change and high-value payments to new payees."""
    rng, pop = w.rng, w.pop
    acct = pop.account_id[victim]
    if change:
        w.changes.add(1, account=acct, t=np.array([t + int(rng.integers(60_000, 1_800_000))]),
                      change_type=change, ip=np.array([ip]), device=np.array([dev]), attack=attack, campaign=cid)
    n = int(rng.integers(1, 5))
    amount = np.round(np.exp(pop.amount_mu[victim] + rng.normal(0, 0.4, n)) * rng.uniform(*factor, n), 2)
    if payees is None:
        payees = rng.integers(10_000_000, 20_000_000, n)
    status = rng.choice(np.array(["succeeded", "declined", "failed"], dtype=object), size=n, p=[0.8, 0.15, 0.05])
    w.payments.add(
        n, account=acct, t=t + np.sort(rng.integers(120_000, 3 * HOUR, n)), amount=amount,
        currency=pop.currency[victim], status=status, payee=rng.choice(payees, n), method=f"pm_x{cid}",
        device=dev, ip=ip, attack=attack, campaign=cid,
    )


def credential_stuffing(w: World, cid: int, day: int) -> tuple[Campaign, list[RepEntry]]:
    """A wave of automated attempts from a botnet/hosting pool: thousands of accounts, mostly
    failures and unknown usernames, a few successes through password reuse; some cashed out."""
    rng, pop, net, cfg = w.rng, w.pop, w.net, w.cfg.stuffing
    scale = pop.n / 10_000
    attempts = max(50, int(rng.integers(cfg.attempts_min, cfg.attempts_max + 1) * scale))
    start = w.t0_ms + day * DAY_MS + int(rng.integers(0, 20 * HOUR))
    t = start + np.sort(rng.integers(0, int(rng.integers(1, 7)) * HOUR, attempts))
    pool_n = int(rng.integers(cfg.ip_pool_min, cfg.ip_pool_max + 1))
    botnet = rng.random(pool_n) < 0.7  # the rest rented from hosting providers
    hosting = net.blocks_where("hosting")
    pool = np.where(botnet, rng.choice(w.botnet, pool_n), net.random_ip(rng, rng.choice(hosting, pool_n)))
    ip = pool[np.minimum(rng.zipf(1.3, attempts) - 1, pool_n - 1)]
    if rng.random() < 0.5:  # a script: no device id
        ua = SCRIPT_UAS[int(rng.integers(len(SCRIPT_UAS)))]
        dev = np.full(attempts, w.devs.add_known(None, ua, "api", "script"))  # type: ignore[arg-type]
    else:  # a spoofed browser that randomises its fingerprint on every attempt
        dev = np.array([w.devs.add(rng, "desktop") for _ in range(attempts)])
    real = rng.random(attempts) < 0.6
    victim = rng.integers(0, pop.n, attempts)
    acct = np.where(real, pop.account_id[victim], np.array([f"acct_{pop.n + k:07d}" for k in rng.integers(0, 3 * pop.n, attempts)], dtype=object))
    outcome = np.where(real, "bad_password", "unknown_account").astype(object)
    win = real & (rng.random(attempts) < cfg.success_rate)
    outcome[win] = "success"
    outcome[real & ~win & (rng.random(attempts) < 0.02)] = "locked"
    w.logins.add(attempts, account=acct, t=t, ip=ip, device=dev, outcome=outcome, attack="credential_stuffing", campaign=cid)
    for i in np.flatnonzero(win):
        if rng.random() < 0.6:  # the buyer of the cracked account comes back to cash out
            v = int(victim[i])
            t2 = int(t[i]) + int(rng.integers(2 * HOUR, 48 * HOUR))
            ip2 = _foreign_ip(w, v, (0.3, 0.7, 0.0))
            d2 = w.devs.add(rng, "desktop")
            _login(w, v, t2, ip2, d2, "success", "credential_stuffing", cid)
            _cash_out(w, v, t2, ip2, d2, "credential_stuffing", cid, (3, 8))
    listed = botnet & (rng.random(pool_n) < w.cfg.reputation_coverage)
    rep = [(f"{ip_to_str_one(int(x))}/32", "botnet", float(np.round(rng.uniform(0.6, 0.95), 2)),
            int(start + rng.integers(1, 8) * DAY_MS)) for x in pool[listed]]
    camp = Campaign(cid, "credential_stuffing", int(start), attempts, len(set(victim[real])), len(set(victim[win])))
    return camp, rep


def targeted_ato(w: World, cid: int, day: int) -> tuple[Campaign, list[RepEntry]]:
    """A phished password: new device from abroad/hosting/tor, success, payout change, big payments."""
    rng = w.rng
    v = int(rng.integers(w.pop.n))
    t = w.t0_ms + day * DAY_MS + int(rng.integers(0, 24 * HOUR))
    ip = _foreign_ip(w, v, (0.5, 0.3, 0.2))
    dev = w.devs.add(rng, str(rng.choice(["desktop", "app"])))
    if rng.random() < 0.3:
        _login(w, v, t - int(rng.integers(20_000, 300_000)), ip, dev, "bad_password", "targeted_ato", cid)
    _login(w, v, t, ip, dev, "success", "targeted_ato", cid)
    _cash_out(w, v, t, ip, dev, "targeted_ato", cid, (4, 12), change=str(rng.choice(["payout_method_added", "email_change", "phone_change"])))
    return Campaign(cid, "targeted_ato", t, 1, 1, 1), []


def session_hijack(w: World, cid: int, day: int) -> tuple[Campaign, list[RepEntry]]:
    """A stolen session/fingerprint: the victim's own device id and user agent from a new IP/ASN."""
    rng = w.rng
    v = int(rng.integers(w.pop.n))
    t = w.t0_ms + day * DAY_MS + int(rng.integers(0, 24 * HOUR))
    dev = int(w.devs.acct_dev[v, int(rng.integers(w.devs.n_dev[v]))])
    ip = _foreign_ip(w, v, (0.4, 0.6, 0.0))
    _login(w, v, t, ip, dev, "success", "session_hijack", cid)
    _cash_out(w, v, t, ip, dev, "session_hijack", cid, (2, 6), change=None)
    return Campaign(cid, "session_hijack", t, 1, 1, 1), []


def low_and_slow(w: World, cid: int, day: int) -> tuple[Campaign, list[RepEntry]]:
    """A residential proxy in the victim's own country, a few attempts over days at the victim's
    usual hours, then a quiet payout change and moderate payments."""
    rng, pop, net = w.rng, w.pop, w.net
    v = int(rng.integers(pop.n))
    same_country = np.flatnonzero(net.countries == net.countries[pop.home_city[v]])
    block = w.city_block[rng.choice(same_country)]
    ip = int(net.random_ip(rng, np.array([block]))[0])
    dev = w.devs.add_known(f"d{rng.integers(0, 2**62):016x}", render_ua(rng, BROWSER_UAS[0]), "web", "desktop")
    hour_ms = int(pop.habit_hour_utc[v] * HOUR)
    d = day
    for _ in range(int(rng.integers(1, 4))):
        _login(w, v, w.t0_ms + d * DAY_MS + hour_ms + int(rng.integers(-HOUR, HOUR)), ip, dev, "bad_password", "low_and_slow", cid)
        d += int(rng.integers(1, 3))
    t = w.t0_ms + d * DAY_MS + hour_ms + int(rng.integers(-HOUR, HOUR))
    _login(w, v, t, ip, dev, "success", "low_and_slow", cid)
    t2 = t + int(rng.integers(1, 3)) * DAY_MS
    _login(w, v, t2, ip, dev, "success", "low_and_slow", cid)
    _cash_out(w, v, t2, ip, dev, "low_and_slow", cid, (1.5, 3))
    rep = [(f"{ip_to_str_one(ip)}/32", "proxy", float(np.round(rng.uniform(0.4, 0.8), 2)), t2 + 5 * DAY_MS)] if rng.random() < 0.3 else []
    return Campaign(cid, "low_and_slow", t, 3, 1, 1), rep


def fraud_ring(w: World, cid: int, day: int) -> tuple[Campaign, list[RepEntry]]:
    """A ring operating a handful of taken-over accounts from shared devices, paying shared payees."""
    rng, pop, net = w.rng, w.pop, w.net
    victims = rng.choice(pop.n, size=int(rng.integers(5, 16)), replace=False)
    ring_devs = [w.devs.add(rng, "desktop") for _ in range(int(rng.integers(2, 4)))]
    payees = rng.integers(20_000_000, 30_000_000, int(rng.integers(1, 4)))
    ips = net.random_ip(rng, rng.choice(net.blocks_where("hosting"), int(rng.integers(3, 6))))
    start = w.t0_ms + day * DAY_MS
    for v in victims:
        for _ in range(int(rng.integers(1, 4))):
            t = start + int(rng.integers(0, 5 * 24 * HOUR))
            dev, ip = int(rng.choice(ring_devs)), int(rng.choice(ips))
            _login(w, int(v), t, ip, dev, "success", "fraud_ring", cid)
            _cash_out(w, int(v), t, ip, dev, "fraud_ring", cid, (2, 5), change=None, payees=payees)
    return Campaign(cid, "fraud_ring", start, len(victims), len(victims), len(victims)), []


def _proxies(w: World, country: str) -> np.ndarray:
    """The residential proxy exits an operation rents in `country` (drawn once, then reused)."""
    if country not in w.proxies:
        cities = np.flatnonzero(w.net.countries == country)
        blocks = np.concatenate([w.net.blocks_where("residential", int(c)) for c in cities])
        n = w.cfg.shift.proxies_per_country
        w.proxies[country] = w.net.random_ip(w.rng, w.rng.choice(blocks, n))
    return w.proxies[country]


def mimicry(w: World, cid: int, day: int) -> tuple[Campaign, list[RepEntry]]:
    """The tactic-shift world's new attack (conf `shift`), one operation a day from the shift day:
    a verified password list tried through residential proxies in each victim's own country, with
    the victim's own device fingerprint and user agent (an anti-detect browser), one attempt per
    account at the victim's usual hour (no bursts, no failures first); the hits are cashed out."""
    rng, pop, net, cfg = w.rng, w.pop, w.net, w.cfg.shift
    n = min(pop.n, max(1, int(cfg.attempts_per_day * pop.n / 10_000)))
    victims = rng.choice(pop.n, size=n, replace=False)
    countries = net.countries[pop.home_city[victims]]
    ip = np.array([int(rng.choice(_proxies(w, str(c)))) for c in countries], dtype=np.int64)
    dev = w.devs.acct_dev[victims, (rng.random(n) * w.devs.n_dev[victims]).astype(np.int64)]
    t = (w.t0_ms + day * DAY_MS + (pop.habit_hour_utc[victims] * HOUR).astype(np.int64)
         + rng.integers(-HOUR, HOUR, n)).astype(np.int64)
    win = rng.random(n) < cfg.success_rate
    outcome = np.where(win, "success", "bad_password").astype(object)
    w.logins.add(n, account=pop.account_id[victims], t=t, ip=ip, device=dev, outcome=outcome, attack="mimicry",
                 campaign=cid)
    for i in np.flatnonzero(win):
        if rng.random() < cfg.cash_out_share:
            _cash_out(w, int(victims[i]), int(t[i]), int(ip[i]), int(dev[i]), "mimicry", cid, (1.5, 3), change=None)
    return Campaign(cid, "mimicry", int(t.min()), n, n, int(win.sum())), []


GENERATORS: dict[str, Callable[[World, int, int], tuple[Campaign, list[RepEntry]]]] = {
    "credential_stuffing": credential_stuffing,
    "targeted_ato": targeted_ato,
    "session_hijack": session_hijack,
    "low_and_slow": low_and_slow,
    "fraud_ring": fraud_ring,
}


def base_reputation(w: World) -> list[RepEntry]:
    """What the feed knows before the simulation starts: most hosting ranges and tor exits."""
    rng, net = w.rng, w.net
    hosting = net.blocks_where("hosting")
    as_of = w.t0_ms - DAY_MS
    rep: list[RepEntry] = []
    for b in hosting:
        if rng.random() < 0.75:
            base = int(net.block_base(np.array([b]))[0])
            rep.append((f"{ip_to_str_one(base)}/16", "hosting", float(np.round(rng.uniform(0.2, 0.45), 2)), as_of))
    tor_base = int(net.block_base(np.array([hosting[0]]))[0])
    rep += [(f"{ip_to_str_one(tor_base + (k << 8))}/24", "tor", 0.95, as_of) for k in range(200, 208)]
    known = w.botnet[rng.random(len(w.botnet)) < 0.2]  # bots seen in earlier, unsimulated attacks
    rep += [(f"{ip_to_str_one(int(x))}/32", "botnet", float(np.round(rng.uniform(0.6, 0.95), 2)), as_of) for x in known]
    return rep
