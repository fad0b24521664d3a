"""One typed settings object: conf/settings.yaml + conf/<env>.yaml + environment overrides.

Loading never has side effects (no directories made, no logging configured). A
wrong value raises :class:`SettingsError` naming the file and the field.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ato.model_conf import CostConf, ModelConf
from ato.privacy import key_fingerprint
from ato.privacy.conf import RetentionConf
from ato.rings.conf import RingsConf
from ato.serving_conf import ApiConf, PolicyConf, ServingConf, SpeedConf

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
DEV_HMAC_KEY = "ato-dev-key-not-for-production-use-only-local"
MIN_KEY_BYTES = 32  # an HMAC key shorter than the SHA-256 output it keys is the weak link
DEV_KEY_ENVS = ("local", "test")  # the only environments where the development key may be used

# Documented short environment names -> (section, field).
ENV_ALIASES: dict[str, tuple[str, str]] = {
    "ATO_LAKE_ROOT": ("paths", "lake_root"),
    "ATO_SPOOL": ("paths", "spool"),
    "ATO_WORLD_DIR": ("paths", "world"),
    "ATO_MODEL_DIR": ("paths", "models"),
    "ATO_ONLINE_DIR": ("online", "snapshot_dir"),
    "ATO_SPARK_MASTER": ("spark", "master"),
    "ATO_SPARK_SUBMIT": ("spark", "submit"),
    "ATO_HMAC_KEY": ("privacy", "hmac_key"),
    "ATO_HMAC_KEY_PREVIOUS": ("privacy", "hmac_key_previous"),
    "ATO_STORE": ("serving", "store"),
    "ATO_REDIS_URL": ("serving", "redis_url"),
}


M = TypeVar("M", bound=BaseModel)


class SettingsError(ValueError):
    """A settings file or environment value is wrong; the message names where."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paths(_Section):
    lake_root: str = Field("data/lake", description="Root of the Delta lake; any Hadoop URI works.")
    spool: str = Field("data/spool", description="Folder where event files arrive.")
    world: str = Field("data/world", description="Simulator ground truth and reference data.")
    models: str = Field("data/models", description="Model registry directory.")
    reports: str = Field("data/reports", description="HTML reports (nightly, training runs).")


class SparkConf(_Section):
    master: str = Field("local[*]", description="Spark master URL (local[*], yarn, spark://...).")
    shuffle_partitions: int = Field(8, ge=1, description="spark.sql.shuffle.partitions.")
    driver_memory: str = Field("4g", description="spark.driver.memory for local runs.")
    log_level: Literal["ERROR", "WARN", "INFO"] = Field("ERROR", description="Spark log level.")
    submit: bool = Field(False, description="DAG tasks that start Spark run their spark_jobs/ entry point "
                                            "through spark-submit (master, jars, logging from these settings) "
                                            "instead of `python -m ato.cli`.")
    deploy_mode: Literal["client", "cluster"] = Field(
        "client", description="spark-submit --deploy-mode. client: the driver runs in the task, whose last "
                              "stdout line (the --json document) the nightly gate needs; cluster: on the cluster "
                              "(YARN, Kubernetes; Spark standalone runs no Python driver in cluster mode).")


class Privacy(_Section):
    hmac_key: str = Field("", description="Key for pseudonymizing IPs/device ids (from ATO_HMAC_KEY).")
    hmac_key_previous: str = Field("", description=(
        "During a key rotation only (README \"Rotating the key\"), the key before ATO_HMAC_KEY (from "
        "ATO_HMAC_KEY_PREVIOUS): serving hashes with it while the published snapshot was made with it, and "
        "the nightly re-hashes the feature window's silver days it made. Empty otherwise."))
    hash_hex_chars: int = Field(32, ge=16, le=64, description="Hex characters kept of each HMAC.")
    silver_extra_keys: dict[str, list[str]] = Field(default_factory=lambda: {"labels": ["attack_type"]}, description=(
        "Per stream, the unknown fields (`extra`) silver keeps; bronze keeps all of them for retention.raw_days."))


class IngestConf(_Section):
    max_quarantine_fraction: float = Field(0.5, gt=0, le=1, description="Above this share of quarantined rows "
                                                                       "a stream raises an alert.")
    max_future_skew_hours: float = Field(24, ge=0, description="Quarantine events this far ahead.")
    min_event_time: str = Field("2000-01-01T00:00:00Z", description="Quarantine older events.")


class EnrichConf(_Section):
    geo_db: str = Field("data/world/ip_geo.csv", description="Offline CIDR -> geo/ASN CSV.")


class BatchConf(_Section):
    label_maturity_days: int = Field(
        14, ge=0, description="Logins of day L enter the training set on night L + this, labelled as known then."
    )
    rebuild_partials_days: int = Field(
        2, ge=1, description="Each night re-derives the daily partials of this many latest days (late events)."
    )
    lock_wait_s: float = Field(
        0.0, ge=0, description="One writer at a time: a run that finds the lake's writer lock held waits this long "
                               "for it (0: refuses at once, naming the holder)."
    )


class GatesConf(_Section):
    max_quarantine_share: float = Field(
        0.05, gt=0, le=1, description="Input gate: a day whose share of quarantined logins exceeds this is refused."
    )
    row_count_min_ratio: float = Field(
        0.5, gt=0, description="Input gate: the day's silver logins over the trailing median must reach this."
    )
    row_count_max_ratio: float = Field(
        10.0, gt=1, description="Input gate: ... and must not exceed this (generous: attacks spike volume)."
    )
    row_count_lookback_days: int = Field(7, ge=1, description="Days in the trailing median for the row-count bound.")
    snapshot_min_ratio: float = Field(0.5, gt=0, description="Output gate: a snapshot's rows over the previous "
                                                             "day's must reach this ...")
    snapshot_max_ratio: float = Field(10.0, gt=1, description="... and must not exceed this.")
    ge_sample_rows: int = Field(5000, ge=0, description="Output gate: Great Expectations validates the gold suites on "
                                                         "this many random rows per table (0: off); exact counts "
                                                         "come from the compiled suites either way.")


class LabelsConf(_Section):
    weights: dict[str, float] = Field(
        default_factory=lambda: {"analyst": 1.0, "chargeback": 1.0, "step_up_passed": 1.0,
                                 "customer_report": 0.7, "account_window": 0.5, "unreported": 1.0},
        description="Training weight of a row by where its label came from (noisier sources weigh less).",
    )


class MonitorConf(_Section):
    outcome_days: int = Field(120, ge=1, description="Monitor: decisions of this many latest days are joined again "
                                                     "with the labels known each night (chargebacks come ~120 days late).")
    maturity_lookback_days: int = Field(180, ge=1, description="Monitor: takeover labels reported in this many days "
                                                               "give the delay distribution behind label_maturity.")
    psi_threshold: float = Field(0.2, gt=0, description="Monitor: a feature, the score or an attack mix drifted when its "
                                                         "PSI against the reference exceeds this ...")
    ks_threshold: float = Field(0.1, gt=0, le=1, description="... or when its two-sample KS statistic exceeds this.")
    min_decisions: int = Field(1000, ge=1, description="Monitor: a model version's drift, and an estimated recall, need "
                                                       "at least this many decisions (below it they are noise: a few "
                                                       "logins of a replay drift on every feature).")
    retrain_drifted_features: int = Field(5, ge=1, description="Retrain trigger: this many of the champion's features "
                                                               "drifted on the night (or its score drifted) ...")
    retrain_score_moved: float = Field(0.05, ge=0, description="... and the score moved too: its PSI or KS at least "
                                                               "this (inputs that drift without moving the score "
                                                               "change no decision; 0 = feature drift alone).")
    recall_days: int = Field(3, ge=1, description="Retrain trigger: days pooled for estimated and realised recall "
                                                  "(a full window of them: a single day's estimate swings with "
                                                  "that day's attacks).")
    retrain_recall_drop: float = Field(0.1, gt=0, le=1, description="Retrain trigger: estimated or realised recall of "
                                                                     "challenges this far below the champion's expected.")
    recall_z: float = Field(2.33, ge=0, description="Retrain trigger: a recall drop counts only when it is at least "
                                                    "this many binomial standard errors, sqrt(r(1-r)/n) over the "
                                                    "window's n takeovers (expected ones for the estimate): 2.33 is a "
                                                    "1 % one-sided chance of a false alarm per check.")
    mature_share: float = Field(0.8, gt=0, le=1, description="Retrain trigger: realised recall only over days whose "
                                                             "label maturity reaches this.")
    retrain_cooldown_days: int = Field(7, ge=0, description="Retrain trigger: none within this many days of the last.")


class OnlineConf(_Section):
    snapshot_dir: str = Field("data/online", description="Where nightly snapshots for serving are published.")
    keep_snapshots: int = Field(7, ge=1, description="Published snapshots kept (older ones are pruned).")


class Settings(_Section):
    """Everything configurable about ato-risk."""

    env: Literal["local", "cluster", "production", "test"] = Field(
        "local", description="Which environment these settings describe."
    )
    paths: Paths = Paths()
    spark: SparkConf = SparkConf()
    privacy: Privacy = Privacy()
    ingest: IngestConf = IngestConf()
    enrich: EnrichConf = EnrichConf()
    batch: BatchConf = BatchConf()
    gates: GatesConf = GatesConf()
    labels: LabelsConf = LabelsConf()
    online: OnlineConf = OnlineConf()
    rings: RingsConf = RingsConf()
    monitor: MonitorConf = MonitorConf()
    model: ModelConf = ModelConf()
    costs: CostConf = CostConf()
    serving: ServingConf = ServingConf()
    speed: SpeedConf = SpeedConf()
    api: ApiConf = ApiConf()
    policy: PolicyConf = PolicyConf()
    retention: RetentionConf = RetentionConf()

    @field_validator("privacy")
    @classmethod
    def _no_weak_or_development_key(cls, v: Privacy, info: Any) -> Privacy:
        env = info.data.get("env")
        if env not in DEV_KEY_ENVS and v.hmac_key in ("", DEV_HMAC_KEY):
            raise ValueError(f"env {env} needs a real HMAC key in ATO_HMAC_KEY (the development key, which is in "
                             f"git, is for {' and '.join(DEV_KEY_ENVS)} settings only)")
        for name, key in (("ATO_HMAC_KEY", v.hmac_key), ("ATO_HMAC_KEY_PREVIOUS", v.hmac_key_previous)):
            if key and len(key.encode()) < MIN_KEY_BYTES:
                raise ValueError(f"the HMAC key ({name}) has {len(key.encode())} bytes; at least "
                                 f"{MIN_KEY_BYTES} are needed (e.g. `openssl rand -hex 32`)")
        if v.hmac_key_previous and v.hmac_key_previous == (v.hmac_key or DEV_HMAC_KEY):
            raise ValueError("ATO_HMAC_KEY_PREVIOUS is the same key as ATO_HMAC_KEY: a rotation needs a new key")
        if env not in DEV_KEY_ENVS and v.hmac_key_previous == DEV_HMAC_KEY:
            raise ValueError(f"env {env}: ATO_HMAC_KEY_PREVIOUS is the development key (it is in git)")
        return v

    def hmac_key_bytes(self) -> bytes:
        """The pseudonymization key; the development key only in local and test settings."""
        if self.privacy.hmac_key:
            return self.privacy.hmac_key.encode()
        warnings.warn("ATO_HMAC_KEY is not set: using the development key", stacklevel=2)
        return DEV_HMAC_KEY.encode()

    def hmac_keys(self) -> dict[str, bytes]:
        """Key id (`ato.privacy.key_fingerprint`) -> key: the current key first, then, during a
        rotation, the previous one."""
        keys = [self.hmac_key_bytes()] + ([self.privacy.hmac_key_previous.encode()]
                                          if self.privacy.hmac_key_previous else [])
        return {key_fingerprint(k): k for k in keys}

    def table_path(self, layer: str, table: str) -> str:
        """`<lake_root>/<layer>/<table>`."""
        return f"{self.paths.lake_root.rstrip('/')}/{layer}/{table}"


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML mapping; a file that is not a mapping is a SettingsError."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise SettingsError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping at the top level")
    return data


def load_yaml_model(model: type[M], path: Path, what: str, overrides: Mapping[str, object]) -> M:
    """A YAML file validated as `model`, with overrides (None values ignored); a mistake is a
    SettingsError naming the file and each field (`what` says which config it is)."""
    data = read_yaml(path) if path.exists() else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return model.model_validate(data)
    except ValidationError as e:
        msgs = [f"{path}: {'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()]
        raise SettingsError(f"invalid {what}:\n  " + "\n  ".join(msgs)) from None


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (section, field) in ENV_ALIASES.items():
        if environ.get(name):
            out.setdefault(section, {})[field] = environ[name]
    for name, value in environ.items():
        if name.startswith("ATO_") and "__" in name:
            section, _, field = name[4:].lower().partition("__")
            out.setdefault(section, {})[field] = value
    return out


def _where(loc: tuple[Any, ...], sources: dict[tuple[str, ...], str]) -> str:
    key = tuple(str(p) for p in loc[:2])
    return sources.get(key) or sources.get(key[:1]) or "defaults"


def load_settings(
    conf_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load base YAML, the ATO_ENV overlay and environment overrides into Settings."""
    conf_dir = conf_dir or CONF_DIR
    environ = os.environ if environ is None else environ
    sources: dict[tuple[str, ...], str] = {}
    merged: dict[str, Any] = {}
    files = [conf_dir / "settings.yaml"]
    env_name = environ.get("ATO_ENV")
    if env_name:
        files.append(conf_dir / f"{env_name}.yaml")
    for f in files:
        if not f.exists():
            if f.name == "settings.yaml":
                continue
            raise SettingsError(f"{f}: ATO_ENV={env_name} but this overlay file does not exist")
        data = read_yaml(f)
        for k, v in data.items():
            sources[(k,)] = str(f)
            if isinstance(v, dict):
                for kk in v:
                    sources[(k, kk)] = str(f)
        merged = _deep_merge(merged, data)
    env_over = _env_overrides(environ)
    for k, v in env_over.items():
        for kk in v:
            sources[(k, kk)] = "environment"
    merged = _deep_merge(merged, env_over)
    try:
        return Settings.model_validate(merged)
    except ValidationError as e:
        lines = [
            f"{_where(err['loc'], sources)}: {'.'.join(map(str, err['loc']))}: {err['msg']}"
            for err in e.errors()
        ]
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
