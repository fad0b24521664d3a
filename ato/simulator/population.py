"""Legitimate account holders: where they live, their devices, habits, payees and quirks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ato.simulator.config import SimulatorConfig
from ato.simulator.geo import Internet

BROWSER_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.{m}.{p} Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{s}.{m1} Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{f}.0) Gecko/20100101 Firefox/{f}.{m1}",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.{m}.{p}",
)
PHONE_BROWSER_UAS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{s}.{m1} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.{m}.{p} Mobile Safari/537.36",
)
APP_UAS = (
    ("PayApp/5.{m1}.{p1} (iOS 17.{m1}; iPhone15,2)", "ios"),
    ("PayApp/5.{m1}.{p1} (Android 14; SM-S918B)", "android"),
)
DEVICE_KINDS = ("desktop", "phone_browser", "app")


def render_ua(rng: np.random.Generator, template: str) -> str:
    """Fill a UA template with plausible version numbers."""
    return template.format(
        v=int(rng.integers(124, 131)),
        s=int(rng.integers(16, 18)),
        f=int(rng.integers(125, 131)),
        m=int(rng.integers(6000, 6800)),
        p=int(rng.integers(10, 200)),
        m1=int(rng.integers(0, 9)),
        p1=int(rng.integers(0, 20)),
    )


def new_device(rng: np.random.Generator, kind: str) -> tuple[str, str, str]:
    """(device_id, user_agent, channel) of a fresh device of the given kind."""
    dev = f"d{rng.integers(0, 2**62):016x}"
    if kind == "desktop":
        return dev, render_ua(rng, BROWSER_UAS[int(rng.integers(len(BROWSER_UAS)))]), "web"
    if kind == "phone_browser":
        return dev, render_ua(rng, PHONE_BROWSER_UAS[int(rng.integers(len(PHONE_BROWSER_UAS)))]), "web"
    tpl, channel = APP_UAS[int(rng.integers(len(APP_UAS)))]
    return dev, render_ua(rng, tpl), channel


@dataclass
class Population:
    """Per-account attributes as parallel arrays (index = account number)."""

    account_id: np.ndarray
    home_city: np.ndarray
    home_block: np.ndarray
    home_ip: np.ndarray
    mobile_block: np.ndarray
    rate: np.ndarray  # expected logins per day
    habit_hour_utc: np.ndarray
    habit_spread: np.ndarray
    traveler: np.ndarray
    vpn_user: np.ndarray
    vpn_block: np.ndarray
    devices: list[list[tuple[str, str, str, str]]]  # per account: (device_id, ua, channel, kind)
    payees: list[np.ndarray]
    payment_method: np.ndarray
    amount_mu: np.ndarray  # log-mean of payment amounts
    currency: np.ndarray

    @property
    def n(self) -> int:
        return len(self.account_id)


def build_population(cfg: SimulatorConfig, net: Internet, rng: np.random.Generator) -> Population:
    """Draw every account's home, devices, habits and payment behaviour."""
    n = cfg.accounts
    w = net.cities["weight"].to_numpy()
    home_city = rng.choice(len(w), size=n, p=w / w.sum())
    res_blocks = [net.blocks_where("residential", c) for c in range(len(w))]
    mob_blocks = [net.blocks_where("mobile", c) for c in range(len(w))]
    home_block = np.array([res_blocks[c][rng.integers(len(res_blocks[c]))] for c in home_city])
    mobile_block = np.array([mob_blocks[c][0] for c in home_city])
    home_ip = net.random_ip(rng, home_block)
    heavy = rng.random(n) < cfg.heavy_user_share
    rate = cfg.logins_per_day_median * np.exp(rng.normal(0, 0.6, n)) * np.where(heavy, 5.0, 1.0)
    rate = np.where(rng.random(n) < 0.25, rate * 0.15, rate)  # light users
    local_hour = np.where(rng.random(n) < 0.7, rng.normal(19.5, 2.0, n), rng.normal(9.5, 2.0, n))
    offset = net.cities["utc_offset"].to_numpy()[home_city]
    habit_hour_utc = np.mod(local_hour - offset, 24)
    habit_spread = rng.uniform(0.8, 3.5, n)
    hosting = net.blocks_where("hosting")
    vpn_block = hosting[rng.integers(len(hosting), size=n)]
    devices: list[list[tuple[str, str, str, str]]] = []
    for _ in range(n):
        k = int(rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2]))
        kinds = rng.choice(DEVICE_KINDS, size=k, p=[0.4, 0.2, 0.4])
        devices.append([(*new_device(rng, str(kd)), str(kd)) for kd in kinds])
    # Families: pairs of accounts sharing a device and a home connection.
    fam = np.flatnonzero(rng.random(n) < cfg.family_share)
    for a, b in zip(fam[0::2], fam[1::2], strict=False):
        devices[b].append(devices[a][0])
        home_ip[b] = home_ip[a]
        home_block[b] = home_block[a]
    payee_pool = max(200, n // 5)
    payees = [rng.integers(0, payee_pool, size=int(rng.integers(3, 12))) for _ in range(n)]
    return Population(
        account_id=np.array([f"acct_{i:07d}" for i in range(n)], dtype=object),
        home_city=home_city,
        home_block=home_block,
        home_ip=home_ip,
        mobile_block=mobile_block,
        rate=rate,
        habit_hour_utc=habit_hour_utc,
        habit_spread=habit_spread,
        traveler=rng.random(n) < cfg.traveler_share,
        vpn_user=rng.random(n) < cfg.vpn_user_share,
        vpn_block=vpn_block,
        devices=devices,
        payees=payees,
        payment_method=np.array([f"pm_{i:07d}_0" for i in range(n)], dtype=object),
        amount_mu=rng.normal(3.6, 0.7, n),
        currency=net.cities["currency"].to_numpy()[home_city],
    )
