"""The model's data: the training window read from gold/training_set (matured rows only),
time-ordered splits, ground truth for evaluation, and the feature matrix encoding."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ato import deltars
from ato.features.columns import (
    CATEGORICAL_FEATURES,
    FEATURES,
    ID_COLUMNS,
    LABEL_COLUMNS,
    SIGNAL_FEATURES,
)
from ato.features.speed import SPEED_FEATURES
from ato.settings import Settings
from ato.tables import LOGINS, TRAINING

# The fallback model runs when the online store (snapshots, shared speed-layer counters) is out of
# reach: it sees what one serving process still has, the login request enriched in process and the
# process's own velocity windows (`ato.online.decide.local_speed`, the same window definition as
# batch, so training reads the training set's exact windows).
FALLBACK_FEATURES: tuple[str, ...] = (*SIGNAL_FEATURES, *SPEED_FEATURES, *CATEGORICAL_FEATURES)
TRUTH_FILE = "login_truth.parquet"
# Signals that should never lower the risk when they rise (monotone constraints): with few and
# noisy positives, a tree can otherwise learn that, say, a new country is slightly safer.
RISK_UP_FEATURES: frozenset[str] = frozenset({
    "new_device", "new_ip", "new_country", "new_asn", "country_change", "asn_change",
    "km_since_last_login", "kmh_since_last_login", "ip_rep_score", "is_automation_ua",
    *(f"{k}_accounts_{w}" for k in ("ip", "prefix", "device") for w in ("5m", "1h", "24h")),
})


class NotEnoughData(ValueError):
    """The training set cannot fill the requested window or a split has no positives."""


@dataclass(frozen=True)
class Window:
    """Consecutive login-date blocks: train, then validation, then test (inclusive bounds)."""

    train: tuple[date, date]
    val: tuple[date, date]
    test: tuple[date, date]

    @property
    def start(self) -> date:
        return self.train[0]

    @property
    def end(self) -> date:
        return self.test[1]

    def as_dict(self) -> dict[str, list[str]]:
        return {k: [str(a), str(b)] for k, (a, b) in (("train", self.train), ("val", self.val), ("test", self.test))}


def last_matured_day(settings: Settings, as_of: date) -> date:
    """On night `as_of`, logins up to this day have labels old enough to train on."""
    return as_of - timedelta(days=settings.batch.label_maturity_days)


def plan_window(settings: Settings, last_day: date) -> Window:
    """The window ending at `last_day`: train_days, val_days, then test_days."""
    m = settings.model
    test_start = last_day - timedelta(days=m.test_days - 1)
    val_start = test_start - timedelta(days=m.val_days)
    train_start = val_start - timedelta(days=m.train_days)
    one = timedelta(days=1)
    return Window((train_start, val_start - one), (val_start, test_start - one), (test_start, last_day))


def rolling_folds(settings: Settings, w: Window) -> list[Window]:
    """Rolling-origin folds inside train+val (the test block is never used): each validates on
    the `val_days` after an expanding training block; the last fold is the final split."""
    m, one = settings.model, timedelta(days=1)
    folds = []
    for k in range(m.folds - 1, -1, -1):
        val_end = w.val[1] - timedelta(days=k * m.val_days)
        val_start = val_end - timedelta(days=m.val_days - 1)
        if val_start - one < w.start:
            continue  # not enough history for this origin
        folds.append(Window((w.start, val_start - one), (val_start, val_end), w.test))
    return folds


def _read_dates(settings: Settings, layer: str, table: str, date_col: str, first: date, last: date,
                columns: list[str], missing: str) -> pd.DataFrame:
    """Rows of a Delta table (delta-rs, no JVM) with `date_col` in [first, last], in
    (event_time, event_id) order; NotEnoughData(`missing`) when the table does not exist."""
    try:
        df = deltars.read_dates(settings, layer, table, date_col, first, last, columns).to_pandas()
    except deltars.NoTable as e:
        raise NotEnoughData(f"{e}: {missing}") from e
    return df.sort_values(["event_time", "event_id"], kind="stable", ignore_index=True)


def load_training_rows(settings: Settings, first: date, last: date) -> pd.DataFrame:
    """Matured training rows with login dates in [first, last], in a stable order."""
    df = _read_dates(settings, "gold", TRAINING, "login_date", first, last,
                     [*ID_COLUMNS, *FEATURES, *LABEL_COLUMNS], "run `ato nightly` first")
    df["login_date"] = pd.to_datetime(df["login_date"]).dt.date
    return df


def training_days(settings: Settings) -> list[date]:
    """Login dates present in gold/training_set."""
    return deltars.partition_dates(settings, "gold", TRAINING, "login_date")


def attach_truth(df: pd.DataFrame, world_dir: str | Path) -> bool:
    """Add `truth` (1 = an attacker passed the password check, 0 = legit, -1 = a failed attack
    attempt, left out of the metrics) and `truth_attack_type` from the simulator's ground truth,
    when the world folder has it, and `truth_campaign` when the world records campaigns.
    Returns whether it did."""
    import pyarrow.parquet as pq

    path = Path(world_dir) / TRUTH_FILE
    if not path.is_file():
        return False
    cols = ["event_id", "attack_type", "outcome"]
    has_campaign = "campaign_id" in pq.read_schema(path).names
    truth = pd.read_parquet(path, columns=[*cols, "campaign_id"] if has_campaign else cols)
    m = df[["event_id"]].merge(truth, on="event_id", how="left", validate="one_to_one")
    attack = m["attack_type"].notna().to_numpy()
    success = (m["outcome"] == "success").to_numpy()
    df["truth"] = np.where(attack & success, 1, np.where(attack, -1, 0))
    df["truth_attack_type"] = m["attack_type"].to_numpy()
    if has_campaign:  # the campaign a takeover belongs to (-1 for legit logins)
        df["truth_campaign"] = m["campaign_id"].fillna(-1).astype("int64").to_numpy()
    return True


def in_dates(df: pd.DataFrame, span: tuple[date, date]) -> pd.Series:
    return (df["login_date"] >= span[0]) & (df["login_date"] <= span[1])


@dataclass
class Split:
    """Row masks of one fold. Accounts with a positive label in `train` are left out of `val`
    and `test`: a takeover's labelled span can cross the boundary, and its later rows would
    otherwise be scored by a model that already saw the case."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    dropped_accounts: int = 0
    positives: dict[str, dict[str, int]] = field(default_factory=dict)


def make_split(df: pd.DataFrame, w: Window, refit: bool = False) -> Split:
    """Blocks by date; accounts with a takeover in training are left out of validation and test
    (and, when the served model is refitted on validation too, `refit`, those of validation out of test)."""
    train = in_dates(df, w.train).to_numpy()
    seen = set(df.loc[train & (df["label"] == 1), "account_id"])
    leak = df["account_id"].isin(seen).to_numpy()
    val = in_dates(df, w.val).to_numpy() & ~leak
    test = in_dates(df, w.test).to_numpy() & ~leak
    if refit:
        test &= ~df["account_id"].isin(set(df.loc[val & (df["label"] == 1), "account_id"])).to_numpy()
    split = Split(train, val, test, dropped_accounts=len(seen))
    for name, mask in (("train", train), ("val", val), ("test", test)):
        part = df[mask & (df["label"] == 1).to_numpy()]
        split.positives[name] = {"all": len(part), **part["attack_type"].fillna("unknown").value_counts().to_dict()}
    for name in ("train", "val"):
        if split.positives[name]["all"] == 0:
            raise NotEnoughData(f"no positive labels in the {name} block {getattr(w, name)}")
    return split


@dataclass(frozen=True)
class Encoder:
    """Categorical vocabularies learnt on the training block; unseen values become missing."""

    vocab: dict[str, list[str]]

    @classmethod
    def fit(cls, df: pd.DataFrame) -> Encoder:
        return cls({c: sorted(df[c].dropna().astype(str).unique().tolist()) for c in CATEGORICAL_FEATURES})

    def matrix(self, df: pd.DataFrame, features: tuple[str, ...]) -> np.ndarray:
        """float64 matrix in `features` order; categories as codes, missing as NaN."""
        out = np.empty((len(df), len(features)), dtype=np.float64)
        for j, c in enumerate(features):
            if c in self.vocab:
                codes = pd.Categorical(df[c], categories=self.vocab[c]).codes.astype(np.float64)
                codes[codes < 0] = np.nan
                out[:, j] = codes
            else:
                out[:, j] = pd.to_numeric(df[c], errors="coerce").astype(np.float64).to_numpy()
        return out

    def code(self, column: str, value: object) -> float:
        """One value's code (serving)."""
        try:
            return float(self.vocab[column].index(str(value)))
        except ValueError:
            return float("nan")


def data_hash(df: pd.DataFrame) -> str:
    """Content hash of the rows a model was trained and evaluated on."""
    cols = sorted(c for c in df.columns if c in (*ID_COLUMNS, *FEATURES, *LABEL_COLUMNS))
    h = pd.util.hash_pandas_object(df[cols], index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()


def feature_hash(features: tuple[str, ...], vocab: dict[str, list[str]]) -> str:
    return hashlib.sha256(json.dumps([list(features), vocab], sort_keys=True).encode()).hexdigest()


def load_silver_logins(settings: Settings, first: date, last: date, columns: tuple[str, ...]) -> pd.DataFrame:
    """Silver logins with event dates in [first, last] (the Freeman baseline's history)."""
    return _read_dates(settings, "silver", LOGINS, "event_date", first, last, list(columns),
                       "run `ato ingest` first")
