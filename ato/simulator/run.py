"""`ato simulate`: build a world, play it day by day, write the spool and keep the truth apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ato.progress import QUIET, Progress
from ato.simulator.accounts import UA, RingStreams, epoch_ms, ring_streams
from ato.simulator.attacks import GENERATORS, Campaign, RepEntry, base_reputation, mimicry
from ato.simulator.config import SimulatorConfig
from ato.simulator.frames import CHANGE_COLS, LOGIN_COLS, PAYMENT_COLS, Columns, Devices
from ato.simulator.geo import build_internet, ips_to_str
from ato.simulator.labels import make_labels
from ato.simulator.legit import DAY_MS, World, legit_day, plan_travel
from ato.simulator.population import build_population
from ato.simulator.writer import inject_malformed, rfc3339, write_stream


@dataclass
class SimulationSummary:
    """What was written: rows per stream, campaigns and compromised accounts by attack type."""

    rows: dict[str, int] = field(default_factory=dict)
    campaigns: dict[str, int] = field(default_factory=dict)
    attack_logins: dict[str, int] = field(default_factory=dict)
    compromised: dict[str, int] = field(default_factory=dict)
    files: int = 0
    malformed: dict[str, int] = field(default_factory=dict)  # rows spoilt on purpose, per stream


def _concat(*parts: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """The parts end to end, empty ones left out (pandas 2 ignores their dtype with a FutureWarning
    and will stop ignoring it), so the result's dtypes are the filled parts' as before; a frame
    keeps every part's columns."""
    out = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    if isinstance(out, pd.DataFrame):
        out = out.reindex(columns=list(dict.fromkeys(c for p in parts for c in p.columns)))
    return out


def _ids(rng: np.random.Generator, prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{x:016x}" for x in rng.integers(0, 2**63, n)], dtype=object)


def _campaigns(w: World, progress: Progress) -> tuple[list[Campaign], list[RepEntry]]:
    cfg, rng = w.cfg, w.rng
    scale = cfg.accounts / 10_000 * cfg.days / 30
    plan = []
    for kind in GENERATORS:
        n = int(rng.poisson(getattr(cfg.campaigns, kind) * scale))
        plan += [(kind, int(rng.integers(0, max(1, cfg.days - 1)))) for _ in range(n)]
    if cfg.shift.day is not None:  # the tactic-shift world: the new operation every day from then on
        plan += [("mimicry", day) for day in range(cfg.shift.day, cfg.days)]
    camps, rep = [], base_reputation(w)
    for cid, (kind, day) in enumerate(progress.track(plan, len(plan), "attack campaigns")):
        c, r = (mimicry if kind == "mimicry" else GENERATORS[kind])(w, cid, day)
        camps.append(c)
        rep += r
    return camps, rep


def play(cfg: SimulatorConfig, progress: Progress = QUIET) -> tuple[World, list[Campaign], list[RepEntry]]:
    """Generate every event of the world in memory (columns, not yet files)."""
    rng = np.random.default_rng(cfg.seed)
    net = build_internet()
    pop = build_population(cfg, net, rng)
    res = net.blocks[net.blocks["kind"] == "residential"].groupby("city").head(1)
    city_block = np.full(len(net.cities), -1, dtype=np.int64)
    city_block[res["city"].to_numpy()] = res.index.to_numpy()
    t0 = int(datetime(cfg.start.year, cfg.start.month, cfg.start.day, tzinfo=UTC).timestamp() * 1000)
    botnet = net.random_ip(rng, rng.choice(net.blocks_where("residential"), 3000))
    w = World(cfg, net, pop, Devices.from_population(pop), rng, t0, plan_travel(cfg, net, pop, rng),
              city_block, botnet, Columns(LOGIN_COLS), Columns(PAYMENT_COLS), Columns(CHANGE_COLS))
    for day in progress.track(range(cfg.days), cfg.days, "legitimate days"):
        legit_day(w, day)
    camps, rep = _campaigns(w, progress)
    return w, camps, rep


def _frame(cols: Columns, end_ms: int, t0_ms: int) -> pd.DataFrame:
    df = pd.DataFrame(cols.build())
    df = df[(df["t"] >= t0_ms) & (df["t"] < end_ms)]
    return df.sort_values(["t", "account"], kind="stable").reset_index(drop=True)


def _geo_columns(w: World, ip: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What the client/edge knew of each IP: geo from the IP's block, sometimes missing."""
    block = w.net.block_of(ip)
    city = w.net.blocks["city"].to_numpy()[block]
    c = w.net.cities
    n = len(ip)
    missing = rng.random(n) < w.cfg.missing_geo_share
    def opt(v: np.ndarray) -> np.ndarray:
        out = v.astype(object)
        out[missing] = None
        return out
    return {
        "country": opt(c["country"].to_numpy()[city]),
        "city": opt(c["name"].to_numpy()[city]),
        "latitude": opt(np.round(c["lat"].to_numpy()[city] + rng.normal(0, 0.05, n), 4)),
        "longitude": opt(np.round(c["lon"].to_numpy()[city] + rng.normal(0, 0.05, n), 4)),
        "asn": opt(w.net.blocks["asn"].to_numpy()[block]),
    }


def _ring_rows(rs: RingStreams, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fabricated ring members' logins and payments, shaped as the world's streams."""
    lg, py = rs.logins, rs.payments
    country = lg["account_id"].map(rs.profiles.drop_duplicates("account_id").set_index("account_id")["country"])
    asn = [64512 + (int(a) * 256 + int(b)) % 1000 for a, b, *_ in (ip.split(".") for ip in lg["ip"])]  # the proxy's network
    logins = pd.DataFrame({
        "event_id": _ids(rng, "lg_", len(lg)), "event_time": rfc3339(lg["t"]), "account_id": lg["account_id"],
        "outcome": "success", "ip": lg["ip"], "user_agent": UA, "device_id": lg["device_id"], "country": country,
        "city": None, "latitude": None, "longitude": None, "asn": asn, "channel": "web", "session_id": None})
    payments = pd.DataFrame({
        "event_id": _ids(rng, "py_", len(py)), "event_time": rfc3339(py["t"]), "account_id": py["account_id"],
        "amount": py["amount"], "currency": "USD", "status": "succeeded", "payee_id": py["payee_id"],
        "payment_method_id": py["payment_method_id"], "device_id": py["device_id"], "ip": py["ip"]})
    return logins, payments


def simulate(cfg: SimulatorConfig, out: Path, world_dir: Path, progress: Progress = QUIET) -> SimulationSummary:
    """Write a deterministic synthetic world: events to `out`, truth and geo DB to `world_dir`."""
    w, camps, rep = play(cfg, progress)
    rng = np.random.default_rng([cfg.seed, 1])
    end = w.t0_ms + cfg.days * DAY_MS
    devs = w.devs
    dev_ids = np.asarray(devs.ids, dtype=object)
    summary = SimulationSummary()
    with progress.step("shaping events"):
        lg = _frame(w.logins, end, w.t0_ms)
        lg["event_id"] = _ids(rng, "lg_", len(lg))
        success = (lg["outcome"] == "success").to_numpy()
        lg["session_id"] = None
        lg.loc[success, "session_id"] = _ids(rng, "ss_", int(success.sum()))
        dev = lg["device"].to_numpy(dtype=np.int64)
        logins = pd.DataFrame({
            "event_id": lg["event_id"], "event_time": rfc3339(lg["t"]), "account_id": lg["account"],
            "outcome": lg["outcome"], "ip": ips_to_str(lg["ip"].to_numpy()),
            "user_agent": np.asarray(devs.uas, dtype=object)[dev], "device_id": dev_ids[dev],
            **_geo_columns(w, lg["ip"].to_numpy(), rng),
            "channel": np.asarray(devs.channels, dtype=object)[dev], "session_id": lg["session_id"],
        })
        s = lg[success]
        dur = np.exp(rng.normal(np.log(300_000), 1.0, len(s))).astype(np.int64)
        ended = (s["t"].to_numpy() + dur).astype("float64")
        ended[rng.random(len(s)) < 0.02] = np.nan  # still open or never closed
        sessions = pd.DataFrame({"session_id": s["session_id"].to_numpy(), "account_id": s["account"].to_numpy(),
                                 "started_at": rfc3339(s["t"]), "ended_at": rfc3339(ended)})
        py = _frame(w.payments, end, w.t0_ms)
        pdev = py["device"].to_numpy(dtype=np.int64)
        payments = pd.DataFrame({
            "event_id": _ids(rng, "py_", len(py)), "event_time": rfc3339(py["t"]), "account_id": py["account"],
            "amount": py["amount"].astype(float), "currency": py["currency"], "status": py["status"],
            "payee_id": [f"payee_{int(x):08d}" for x in py["payee"]], "payment_method_id": py["method"],
            "device_id": dev_ids[pdev], "ip": ips_to_str(py["ip"].to_numpy()),
        })
        ac = _frame(w.changes, end, w.t0_ms)
        cdev = ac["device"].to_numpy(dtype=np.int64)
        changes = pd.DataFrame({
            "event_id": _ids(rng, "ac_", len(ac)), "event_time": rfc3339(ac["t"]), "account_id": ac["account"],
            "change_type": ac["change_type"], "ip": ips_to_str(ac["ip"].to_numpy()), "device_id": dev_ids[cdev],
        })
        labels = make_labels(cfg, lg, py, end, rng)
        won = lg[(lg["attack"] == "fraud_ring") & (lg["outcome"] == "success")]
        start = datetime(cfg.start.year, cfg.start.month, cfg.start.day)
        rs = ring_streams(list(w.pop.account_id), start, cfg.days, cfg.seed, cfg.rings.rings_per_10k,
                          cfg.rings.investigated, won.rename(columns={"account": "account_id"}), cfg.rings.established)
        ring_logins, ring_payments = _ring_rows(rs, np.random.default_rng([cfg.seed, 3]))
        logins, login_t = _concat(logins, ring_logins), _concat(lg["t"], rs.logins["t"])
        payments, payment_t = _concat(payments, ring_payments), _concat(py["t"], rs.payments["t"])
        case_ms = epoch_ms(rs.cases["reported_at"]).reset_index(drop=True)
        cases = pd.DataFrame({"account_id": rs.cases["account_id"], "label": "fraud", "source": "analyst",
                              "reported_at": case_ms, "case_id": rs.cases["case_id"]})  # no login, no attack start
        label_t, labels = _concat(labels["reported_at"], case_ms), _concat(labels.assign(case_id=None), cases)
        labels_out = labels.assign(reported_at=rfc3339(labels["reported_at"]),
                                   attack_started_at=rfc3339(labels["attack_started_at"]))
        profile_ms = epoch_ms(rs.profiles["event_time"])
        accounts = rs.profiles.assign(event_time=rfc3339(profile_ms), created_at=rfc3339(epoch_ms(rs.profiles["created_at"])))
        reputation = pd.DataFrame(rep, columns=["network", "category", "score", "as_of"])
        reputation = reputation.drop_duplicates("network").sort_values(["as_of", "network"]).reset_index(drop=True)
        logins, summary.malformed["logins"] = inject_malformed(logins, "logins", cfg.malformed_share, rng)
        payments, summary.malformed["payments"] = inject_malformed(payments, "payments", cfg.malformed_share, rng)
    with progress.step(f"writing spool to {out}"):
        files = []
        files += write_stream(logins, "logins", out, login_t)
        files += write_stream(sessions, "sessions", out, s["t"].reset_index(drop=True))
        files += write_stream(payments, "payments", out, payment_t)
        files += write_stream(changes, "account_changes", out, ac["t"])
        files += write_stream(labels_out, "labels", out, label_t)
        files += write_stream(accounts, "accounts", out, profile_ms)
        (out / "ip_reputation").mkdir(parents=True, exist_ok=True)
        reputation.assign(as_of=rfc3339(reputation["as_of"])).to_csv(out / "ip_reputation" / "feed.csv", index=False)
        files.append(out / "ip_reputation" / "feed.csv")
    with progress.step(f"writing ground truth to {world_dir}"):
        world_dir.mkdir(parents=True, exist_ok=True)
        truth = pd.DataFrame({"event_id": lg["event_id"], "account_id": lg["account"], "event_time": rfc3339(lg["t"]),
                              "outcome": lg["outcome"], "attack_type": lg["attack"].replace("", None),
                              "campaign_id": lg["campaign"].astype("int64")})
        truth = pd.concat([truth, pd.DataFrame({"event_id": ring_logins["event_id"], "account_id": ring_logins["account_id"],
                                                "event_time": ring_logins["event_time"], "outcome": "success",
                                                "attack_type": None, "campaign_id": -1})], ignore_index=True)
        truth.to_parquet(world_dir / "login_truth.parquet", index=False)
        rs.truth.to_parquet(world_dir / "ring_truth.parquet", index=False)
        pd.DataFrame([c.__dict__ for c in camps]).to_parquet(world_dir / "campaigns.parquet", index=False)
        w.net.geo_table().to_csv(world_dir / "ip_geo.csv", index=False)
    summary.files = len(files)
    summary.rows = {"logins": len(logins), "sessions": len(sessions), "payments": len(payments),
                    "account_changes": len(changes), "labels": len(labels), "ip_reputation": len(reputation),
                    "accounts": len(accounts)}
    for c in camps:
        summary.campaigns[c.attack_type] = summary.campaigns.get(c.attack_type, 0) + 1
    att = lg[lg["attack"] != ""]
    summary.attack_logins = {str(k): int(v) for k, v in att.groupby("attack").size().items()}
    comp = att[att["outcome"] == "success"].drop_duplicates(["account", "campaign"])
    summary.compromised = {str(k): int(v) for k, v in comp.groupby("attack").size().items()}
    return summary
