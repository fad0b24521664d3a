"""The model registry: a folder per version under `paths.models` (ATO_MODEL_DIR), a `champion`
pointer that serving follows, and a history of promotions and rollbacks.

<version>/ holds model.txt, fallback.txt (LightGBM), bundle.json (features and their hash,
vocabularies, calibrators, thresholds, training window, data hash, code version, parameters)
and metrics.json, and optional parts (OPTIONAL_PARTS) that older versions lack. A version is written to a temporary folder and renamed into place, and the
champion pointer is replaced atomically, so a reader never sees half a model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ato.settings import Settings

CHAMPION = "champion"
CHALLENGER = "challenger"  # the version serving scores in shadow (`ato shadow`), when serving.shadow is on
HISTORY = "history.jsonl"
ACTION_MODEL_FILE = "action_model.txt"
# Parts a version may lack (trained before the part existed, or with no rows for it): the part's
# name in verdicts -> the file in the version's folder that holds it (serving looks for the same).
OPTIONAL_PARTS: dict[str, str] = {"action model": ACTION_MODEL_FILE}


class PromotionRefused(RuntimeError):
    """The challenger does not beat the champion on the same test window."""


def registry_dir(s: Settings) -> Path:
    return Path(s.paths.models)


def code_version() -> str:
    """The git commit of the code that trained the model (plus '-dirty' for local edits)."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def write_version(s: Settings, version: str, files: dict[str, Any], save: Any) -> Path:
    """Create <version>/ from JSON `files` and `save(folder)` (which writes the boosters)."""
    root = registry_dir(s)
    root.mkdir(parents=True, exist_ok=True)
    final = root / version
    tmp = root / f".{version}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save(tmp)
    for name, obj in files.items():
        _write_json(tmp / name, obj)
    if final.exists():  # same data, seed and choices: the same version, written again
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def versions(s: Settings) -> list[str]:
    root = registry_dir(s)
    return sorted(p.name for p in root.iterdir() if (p / "bundle.json").is_file()) if root.is_dir() else []


def champion(s: Settings) -> str | None:
    f = registry_dir(s) / CHAMPION
    return json.loads(f.read_text())["version"] if f.is_file() else None


def challenger(s: Settings) -> str | None:
    f = registry_dir(s) / CHALLENGER
    return json.loads(f.read_text())["version"] if f.is_file() else None


def set_challenger(s: Settings, version: str | None) -> None:
    """Make `version` the shadow challenger (None: no challenger); recorded in the history."""
    previous, f = challenger(s), registry_dir(s) / CHALLENGER
    if version is None:
        f.unlink(missing_ok=True)
    else:
        if version not in versions(s):
            raise PromotionRefused(f"no model version {version} under {registry_dir(s)}")
        if version == champion(s):
            raise PromotionRefused(f"{version} is the champion: a shadow must be another version")
        _write_json(f, {"version": version, "since": datetime.now(UTC).isoformat(timespec="seconds")})
    _log(s, {"version": version, "action": "shadow" if version else "unshadow", "why": "shadow challenger",
             "previous": previous})


def metrics(s: Settings, version: str) -> dict[str, Any]:
    return dict(json.loads((registry_dir(s) / version / "metrics.json").read_text()))


def parts(s: Settings, version: str) -> frozenset[str]:
    """The optional parts `version` has (names from OPTIONAL_PARTS)."""
    folder = registry_dir(s) / version
    return frozenset(name for name, file in OPTIONAL_PARTS.items() if (folder / file).is_file())


def history(s: Settings) -> list[dict[str, Any]]:
    f = registry_dir(s) / HISTORY
    return [json.loads(x) for x in f.read_text().splitlines() if x.strip()] if f.is_file() else []


def _log(s: Settings, entry: dict[str, Any]) -> None:
    entry = {**entry, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    with (registry_dir(s) / HISTORY).open("a") as fh:
        fh.write(json.dumps(entry) + "\n")


def _set_champion(s: Settings, version: str, action: str, why: str) -> None:
    previous = champion(s)
    _write_json(registry_dir(s) / CHAMPION, {"version": version, "since": datetime.now(UTC).isoformat(timespec="seconds")})
    _log(s, {"version": version, "action": action, "why": why, "previous": previous})
    if challenger(s) == version:  # the shadow took over: nothing left to shadow
        set_challenger(s, None)


@dataclass(frozen=True)
class Verdict:
    promote: bool
    why: str


def compare(challenger: dict[str, Any], incumbent: dict[str, Any], s: Settings, name: str,
            adds: Sequence[str] = ()) -> Verdict:
    """Does the challenger's `model` beat `incumbent` (metrics on the same test rows)? One that
    `adds` parts the incumbent lacks needs only a login model that is not worse: PR-AUC at least
    the incumbent's, recall within the usual drop. A worse login model is never traded for a part."""
    c, i = challenger, incumbent
    gain = (c["pr_auc"] or 0.0) - (i["pr_auc"] or 0.0)
    drop = (i["recall_at_1pct_stepup"] or 0.0) - (c["recall_at_1pct_stepup"] or 0.0)
    text = (f"test PR-AUC {c['pr_auc']:.4f} vs {name} {i['pr_auc']:.4f}, recall at 1% step-up "
            f"{c['recall_at_1pct_stepup']:.3f} vs {i['recall_at_1pct_stepup']:.3f}")
    loses_recall = drop > s.model.promote_max_recall_drop
    if adds:
        added = f"{' and the '.join(sorted(adds))} {name} lacks"
        if gain > s.model.promote_min_pr_auc_gain and not loses_recall:
            return Verdict(True, f"better: {text}; adds the {added}")
        if gain >= 0.0 and not loses_recall:
            return Verdict(True, f"adds the {added}, login model not worse: {text}")
        worse = "loses recall" if loses_recall else "worse login model"
        return Verdict(False, f"{worse}: {text}; it adds the {added}, but a worse login model "
                              "is not traded for it")
    if gain <= s.model.promote_min_pr_auc_gain:
        return Verdict(False, f"not better: {text}")
    if loses_recall:
        return Verdict(False, f"loses recall: {text}")
    return Verdict(True, f"better: {text}")


def verdict_for(s: Settings, version: str) -> Verdict:
    """The champion comparison stored by training (the champion scored on this version's test
    rows), counting the optional parts the champion lacks; one that lacks a part the champion has
    is refused. With no champion yet, the first model must beat the rules baseline."""
    m = metrics(s, version)
    current = champion(s)
    if current == version:
        return Verdict(False, f"{version} is already the champion")
    b = m.get("stepup_budget") or {}
    if b.get("realised") is not None and b["realised"] > b["budget"] + b["tolerance"]:
        # rank metrics cannot see thresholds that challenge far more customers than budgeted
        return Verdict(False, f"overspends the step-up budget on its test days: {b['realised']:.2%} of successful "
                              f"legit logins challenged against {b['budget']:.2%} (tolerance {b['tolerance']:.2%})")
    if current is None:
        return compare(m["test"]["model"], m["test"]["rules"], s, "rules")
    cmp_ = m.get("champion_on_same_test") or {}
    if cmp_.get("version") != current:
        raise PromotionRefused(f"{version} was not compared with the current champion {current} "
                               f"on its test window: retrain, or roll back to {cmp_.get('version')}")
    drops = sorted(parts(s, current) - parts(s, version))
    if drops:  # e.g. a night without action rows: its better login model would switch action scoring off
        return Verdict(False, f"it lacks the {' and the '.join(drops)} champion {current} has (serving would "
                              "lose it): retrain when its data is there, or roll back to an older champion")
    adds = sorted(parts(s, version) - parts(s, current))
    return compare(m["test"]["model"], cmp_["metrics"], s, f"champion {current}", adds)


def promote(s: Settings, version: str, live: Verdict | None = None) -> Verdict:
    """Make `version` the champion if it beats the current one (or adds a part it lacks with a login
    model that is not worse) and, when `live` is given (its shadow record against the champion on
    live traffic, `ato.monitoring.shadow.live_verdict`), was not worse there; raise PromotionRefused if not."""
    if version not in versions(s):
        raise PromotionRefused(f"no model version {version} under {registry_dir(s)}")
    v = verdict_for(s, version)
    if not v.promote:
        raise PromotionRefused(v.why)
    if live is not None:
        if not live.promote:
            raise PromotionRefused(f"{v.why}; but on live traffic: {live.why}")
        v = Verdict(True, f"{v.why}; on live traffic: {live.why}")
    _set_champion(s, version, "promote", v.why)
    return v


def rollback(s: Settings) -> str:
    """Point the champion back at the version it replaced; returns that version."""
    current = champion(s)
    prev = next((h["previous"] for h in reversed(history(s))
                 if h["version"] == current and h["action"] == "promote" and h["previous"]), None)
    if current is None or prev is None:
        raise PromotionRefused("nothing to roll back to")
    _set_champion(s, prev, "rollback", f"rolled back from {current}")
    return prev
