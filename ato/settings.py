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
from pydantic import BaseModel, Field, ValidationError, field_validator

from ato.batch_conf import (
    BatchConf,
    EnrichConf,
    GatesConf,
    IngestConf,
    LabelsConf,
    MonitorConf,
    SparkConf,
)
from ato.conf_section import Section
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


class Paths(Section):
    lake_root: str = Field("data/lake", description="Root of the Delta lake; any Hadoop URI works.")
    spool: str = Field("data/spool", description="Folder where event files arrive.")
    world: str = Field("data/world", description="Simulator ground truth and reference data.")
    models: str = Field("data/models", description="Model registry directory.")
    reports: str = Field("data/reports", description="HTML reports (nightly, training runs).")


class Privacy(Section):
    hmac_key: str = Field("", description="Key for pseudonymizing IPs/device ids (from ATO_HMAC_KEY).")
    hmac_key_previous: str = Field("", description=(
        "During a key rotation only (README \"Rotating the key\"), the key before ATO_HMAC_KEY (from "
        "ATO_HMAC_KEY_PREVIOUS): serving hashes with it while the published snapshot was made with it, and "
        "the nightly re-hashes the feature window's silver days it made. Empty otherwise."))
    hash_hex_chars: int = Field(32, ge=16, le=64, description="Hex characters kept of each HMAC.")
    silver_extra_keys: dict[str, list[str]] = Field(default_factory=lambda: {"labels": ["attack_type"]}, description=(
        "Per stream, the unknown fields (`extra`) silver keeps; bronze keeps all of them for retention.raw_days."))


class OnlineConf(Section):
    snapshot_dir: str = Field("data/online", description="Where nightly snapshots for serving are published.")
    keep_snapshots: int = Field(7, ge=1, description="Published snapshots kept (older ones are pruned).")


class Settings(Section):
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
