"""The evaluation world (conf/evaluation.yaml): a larger, attack-rich world built with the same
batch-layer commands `make demo` runs, into its own root (never data/lake), and the settings
that point training and evaluation at it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from ato.conf_section import Section
from ato.progress import Progress
from ato.settings import (
    CONF_DIR,
    Settings,
    SettingsError,
    load_settings,
    load_yaml_model,
    read_yaml,
)
from ato.simulator.config import SimulatorConfig

NIGHTLY_STEPS = "validate,aggregates,training,gate,actions,publish,report"  # as `make demo`
BUILD_STEPS = ("simulate", "ingest", "nightly")
DONE_FILE = "world.json"


class EvalConf(Section):
    """conf/evaluation.yaml: where and how large the evaluation world is, and how it is cut."""


    root: Path = Field(Path("data/eval"), description="Folder of the world's spool, world, lake, online store and reports.")
    accounts: int = Field(12000, ge=10, description="Accounts in the evaluation world.")
    days: int = Field(50, ge=2, description="Simulated days (train + val + windows + label maturity).")
    windows: int = Field(3, ge=1, description="Rolling test windows, the newest matured login days.")
    window_days: int = Field(5, ge=1, description="Login days per test window.")
    resamples: int = Field(1000, ge=10, description="Bootstrap draws for the 95 % intervals.")
    simulator: dict[str, Any] = Field(default_factory=dict, description="Overrides of conf/simulator.yaml.")


def load_eval_conf(path: Path | None = None, **overrides: object) -> EvalConf:
    """conf/evaluation.yaml with overrides (None values ignored); errors name the file and field."""
    return load_yaml_model(EvalConf, path or CONF_DIR / "evaluation.yaml", "evaluation config", overrides)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def simulator_config(conf: EvalConf) -> dict[str, Any]:
    """conf/simulator.yaml with the evaluation profile on top (validated), as a plain mapping."""
    data = _merge(read_yaml(CONF_DIR / "simulator.yaml"), {**conf.simulator, "accounts": conf.accounts,
                                                            "days": conf.days})
    try:
        return SimulatorConfig.model_validate(data).model_dump(mode="json")
    except ValidationError as e:
        raise SettingsError(f"evaluation simulator profile: {e}") from None


def eval_environ(conf: EvalConf) -> dict[str, str]:
    """ATO_* variables that point every command at the evaluation root."""
    r = conf.root
    return {"ATO_LAKE_ROOT": str(r / "lake"), "ATO_SPOOL": str(r / "spool"), "ATO_WORLD_DIR": str(r / "world"),
            "ATO_MODEL_DIR": str(r / "models"), "ATO_ONLINE_DIR": str(r / "online"),
            "ATO_PATHS__REPORTS": str(r / "reports"), "ATO_ENRICH__GEO_DB": str(r / "world" / "ip_geo.csv")}


def eval_settings(conf: EvalConf, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of the evaluation world: its paths, and test blocks one window long."""
    base = dict(os.environ if environ is None else environ)
    return load_settings(environ={**base, **eval_environ(conf), "ATO_MODEL__TEST_DAYS": str(conf.window_days)})


def _commands(conf: EvalConf, sim_yaml: Path) -> dict[str, list[str]]:
    r = conf.root
    return {"simulate": ["simulate", "--config", str(sim_yaml), "--out", str(r / "spool"), "--world",
                         str(r / "world"), "--overwrite"],
            "ingest": ["ingest", str(r / "spool")],
            "nightly": ["nightly", "--all", "--steps", NIGHTLY_STEPS]}


def build_world(conf: EvalConf, progress: Progress, python: str = sys.executable) -> dict[str, Any]:
    """simulate, ingest, nightly backfill: each `ato` command in its own process, as `make demo`
    runs them. Steps already done for the same profile (root/world.json) are skipped, so an
    interrupted build resumes and a second evaluation reuses the world."""
    sim = simulator_config(conf)
    key = hashlib.sha256(json.dumps(sim, sort_keys=True).encode()).hexdigest()[:16]
    conf.root.mkdir(parents=True, exist_ok=True)
    done_path = conf.root / DONE_FILE
    done = json.loads(done_path.read_text()) if done_path.is_file() else {}
    if done.get("profile") != key:
        done = {"profile": key, "steps": {}}
    sim_yaml = conf.root / "simulator.yaml"
    sim_yaml.write_text(yaml.safe_dump(sim, sort_keys=True))
    env = {**os.environ, **eval_environ(conf)}
    for step, args in _commands(conf, sim_yaml).items():
        if step in done["steps"]:
            progress.info(f"world: {step} already done for this profile ({done['steps'][step]:.0f}s), skipped")
            continue
        if step == "simulate":
            done["steps"] = {}  # a new spool invalidates the lake built from the old one
            for sub in ("lake", "online"):
                _remove(conf.root / sub)
        import time

        start = time.perf_counter()
        with progress.step(f"world: ato {' '.join(args)}"):
            subprocess.run([python, "-m", "ato.cli", *args], env=env, check=True, stdout=sys.stderr)
        done["steps"][step] = time.perf_counter() - start
        done_path.write_text(json.dumps(done, indent=1))
    return done


def _remove(path: Path) -> None:
    import shutil

    if path.exists():
        shutil.rmtree(path)
