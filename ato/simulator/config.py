"""Simulator settings (conf/simulator.yaml): world size, behaviour rates, campaigns, label noise."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field

from ato.conf_section import Section
from ato.settings import CONF_DIR, load_yaml_model


class LabelConf(Section):
    report_rate: float = Field(0.7, ge=0, le=1, description="Share of takeovers ever reported.")
    delay_days_median: float = Field(6, gt=0, description="Median report delay in days.")
    delay_days_max: float = Field(28, gt=0, description="Longest report delay in days.")
    false_report_rate: float = Field(0.0015, ge=0, le=1, description="Wrong ATO reports per account per 30 days.")
    step_up_legit_rate: float = Field(0.01, ge=0, le=1, description="Legit logins confirmed by step-up.")


class CampaignConf(Section):
    """Campaigns per 30 days at 10,000 accounts (scaled with the world)."""

    credential_stuffing: float = Field(2, ge=0)
    targeted_ato: float = Field(25, ge=0)
    session_hijack: float = Field(12, ge=0)
    low_and_slow: float = Field(15, ge=0)
    fraud_ring: float = Field(3, ge=0)


class StuffingConf(Section):
    attempts_min: int = Field(2000, ge=10, description="Attempts in the smallest wave (10k accounts).")
    attempts_max: int = Field(9000, ge=10, description="Attempts in the largest wave (10k accounts).")
    success_rate: float = Field(0.004, ge=0, le=1, description="Password-reuse success per real account.")
    ip_pool_min: int = Field(40, ge=1)
    ip_pool_max: int = Field(400, ge=1)


class ShiftConf(Section):
    """A tactic shift (README "Tactic-shift world"): from `day` on, one operation a day logs into
    accounts as their owners would (`ato.simulator.attacks.mimicry`)."""

    day: int | None = Field(None, ge=1, description="First simulated day (0-based) of the new tactic; None: no shift.")
    attempts_per_day: int = Field(2500, ge=1, description="Login attempts a day at 10,000 accounts (one per account).")
    success_rate: float = Field(0.04, ge=0, le=1, description="Share of attempts whose password works (a verified list).")
    proxies_per_country: int = Field(60, ge=1, description="Residential proxy exits per country, reused day after day.")
    cash_out_share: float = Field(0.8, ge=0, le=1, description="Share of hits cashed out (payout change, payments).")


class RingSimConf(Section):
    """Fraud rings (`ato.simulator.accounts`): fabricated rings signed up before or during the world."""

    rings_per_10k: float = Field(40, ge=0, description="Fabricated rings per 10,000 accounts (3-40 members each).")
    investigated: float = Field(0.6, ge=0, le=1, description="Share of rings an analyst investigates (a case_id).")
    established: float = Field(0.5, ge=0, le=1, description="Share of rings signed up 10-180 days before the world "
                               "(their cases, reported 3-40 days after the last sign-up, may predate it).")


class SimulatorConfig(Section):
    accounts: int = Field(10000, ge=10, description="Number of accounts.")
    days: int = Field(45, ge=1, description="Days simulated.")
    start: date = Field(date(2026, 8, 1), description="First simulated day (UTC).")
    seed: int = Field(7, description="Seed: same seed and config -> byte-identical spool.")
    logins_per_day_median: float = Field(1.2, gt=0)
    heavy_user_share: float = Field(0.1, ge=0, le=1)
    traveler_share: float = Field(0.08, ge=0, le=1)
    vpn_user_share: float = Field(0.05, ge=0, le=1)
    family_share: float = Field(0.06, ge=0, le=1)
    new_phone_rate_per_day: float = Field(0.004, ge=0, le=1)
    typo_rate: float = Field(0.04, ge=0, le=1)
    missing_geo_share: float = Field(0.15, ge=0, le=1)
    malformed_share: float = Field(0.0002, ge=0, le=0.5, description="Login/payment rows spoilt like a buggy producer would.")
    labels: LabelConf = LabelConf()
    campaigns: CampaignConf = CampaignConf()
    stuffing: StuffingConf = StuffingConf()
    shift: ShiftConf = ShiftConf()
    rings: RingSimConf = RingSimConf()
    reputation_coverage: float = Field(0.6, ge=0, le=1)


def load_simulator_config(path: Path | None = None, **overrides: object) -> SimulatorConfig:
    """conf/simulator.yaml with CLI overrides (None values ignored); errors name the file and field."""
    return load_yaml_model(SimulatorConfig, path or CONF_DIR / "simulator.yaml", "simulator config", overrides)
