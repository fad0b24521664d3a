"""The training procedure (one training run): choose rebalancing and parameters on
rolling-origin folds, fit the model and the fallback model, calibrate and tier them on
validation, then score the untouched test block with them, the rules and the Freeman baseline.
It writes nothing: `ato.model.train_and_register` registers the result."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ato.features.columns import CATEGORICAL_FEATURES, FEATURES
from ato.model import data as D
from ato.model.bundle import Scorer
from ato.model.calibration import rank_matched
from ato.model.calibration_choice import Part
from ato.model.fit import Block, Fitted, fit, refit, search_params
from ato.model.labels import training_targets
from ato.model.metrics import successful
from ato.model.tiers import calibrate_and_tier
from ato.progress import Progress
from ato.settings import Settings


@dataclass
class Trial:
    """One (method, parameters) candidate and its validation PR-AUC per fold."""

    method: str
    params: dict[str, Any]
    val_pr_auc: list[float]
    best_iteration: list[int]

    @property
    def mean(self) -> float:
        return float(np.mean(self.val_pr_auc))


@dataclass
class TrainingRun:
    """What one training run produced, for the registry and the report."""

    window: D.Window
    folds: list[D.Window]
    data_hash: str
    rows: int
    imbalance: list[Trial]
    search: list[Trial]
    chosen: Trial
    scorers: dict[str, Scorer]
    splits: dict[str, dict[str, dict[str, int]]]
    metrics: dict[str, Any]
    test: pd.DataFrame  # test rows: ids, truth/labels, each scorer's score/probability/action
    val: pd.DataFrame
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        # the calibrators and tiers too: a changed budget or cost table must not overwrite a version in place
        decide = {n: [sc.calibrator.method, sc.tiers.starts] for n, sc in sorted(self.scorers.items())}
        parts = [self.data_hash, self.chosen.method, self.chosen.params, self.metrics.get("seed"), decide]
        if self.metrics.get("refit_on_val"):  # another booster from the same choices
            parts.append("refit_on_val")
        key = json.dumps(parts, sort_keys=True)
        return f"{self.window.end:%Y%m%d}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def resolve_last_day(settings: Settings, as_of: date | None) -> date:
    """Last login day to train on: matured by night `as_of`, or the newest in the training set."""
    days = D.training_days(settings)
    if not days:
        raise D.NotEnoughData("gold/training_set is empty: run `ato nightly` first")
    last = days[-1] if as_of is None else min(days[-1], D.last_matured_day(settings, as_of))
    need = settings.model.training_window_days
    first = last - timedelta(days=need - 1)
    if first < days[0]:
        raise D.NotEnoughData(f"training needs {need} login days up to {last}; the training set starts {days[0]}")
    return last


def _block(X: np.ndarray, y: np.ndarray, w: np.ndarray, mask: np.ndarray) -> Block:
    return Block(X[mask], y[mask], w[mask])


class _Folds:
    """Encoded matrices per fold, so every candidate is fitted on identical inputs."""

    def __init__(self, df: pd.DataFrame, y: np.ndarray, w: np.ndarray, folds: list[D.Window], refit: bool) -> None:
        self.df, self.y, self.w = df, y, w
        self.success = successful(df)
        self.splits = [D.make_split(df, f, refit) for f in folds]
        self.encoders = [D.Encoder.fit(df[s.train]) for s in self.splits]
        self.cache: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}

    def X(self, k: int, features: tuple[str, ...]) -> np.ndarray:
        if (k, features) not in self.cache:
            self.cache[(k, features)] = self.encoders[k].matrix(self.df, features)
        return self.cache[(k, features)]

    def fit(self, k: int, method: str, params: dict[str, Any], features: tuple[str, ...], s: Settings) -> Fitted:
        X, sp = self.X(k, features), self.splits[k]
        (cat, mono), m = _constraints(features, s), s.model
        return fit(method, params, _block(X, self.y, self.w, sp.train), _block(X, self.y, self.w, sp.val), cat,
                   seed=m.seed, max_rounds=m.max_rounds, early_stop=m.early_stopping_rounds, smote_ratio=m.smote_ratio,
                   monotone=mono)

    def refit(self, k: int, f: Fitted, features: tuple[str, ...], s: Settings) -> Fitted:
        """`f` (fold k's) made again on fold k's training and validation blocks together."""
        X, sp = self.X(k, features), self.splits[k]
        cat, mono = _constraints(features, s)
        return refit(f, _block(X, self.y, self.w, sp.train | sp.val), cat, seed=s.model.seed,
                     smote_ratio=s.model.smote_ratio, monotone=mono)


def _constraints(features: tuple[str, ...], s: Settings) -> tuple[list[int], list[int] | None]:
    """The categorical columns of `features`, and (model.monotone) +1/0 per feature for the risk signals."""
    cat = [features.index(c) for c in CATEGORICAL_FEATURES if c in features]
    return cat, [int(f in D.RISK_UP_FEATURES) for f in features] if s.model.monotone else None


def model_features(s: Settings) -> tuple[str, ...]:
    """The main model's inputs: every feature but `model.drop_features` (an ablation, README "Fraud rings")."""
    return tuple(f for f in FEATURES if f not in s.model.drop_features)


def _choose(folds: _Folds, s: Settings, progress: Progress) -> tuple[list[Trial], list[Trial], Trial, list[Fitted]]:
    """Imbalance handling first (default parameters), then the parameter search with it."""
    fitted: dict[tuple[str, str], list[Fitted]] = {}

    def run(method: str, params: dict[str, Any]) -> Trial:
        fs = [folds.fit(k, method, params, model_features(s), s) for k in range(len(folds.splits))]
        fitted[(method, json.dumps(params, sort_keys=True))] = fs
        return Trial(method, params, [f.val_pr_auc for f in fs], [f.best_iteration for f in fs])

    params = search_params(s.model.search_trials, s.model.seed)
    imbalance = []
    for method in s.model.imbalance:
        with progress.step(f"imbalance: {method} on {len(folds.splits)} folds"):
            imbalance.append(run(method, params[0]))
    best_method = max(imbalance, key=lambda t: t.mean).method
    search = [next(t for t in imbalance if t.method == best_method)]
    for i, p in enumerate(params[1:], start=2):
        with progress.step(f"search {i}/{len(params)} ({best_method})"):
            search.append(run(best_method, p))
    chosen = max(search, key=lambda t: t.mean)
    return imbalance, search, chosen, fitted[(chosen.method, json.dumps(chosen.params, sort_keys=True))]


def _val_part(folds: _Folds, k: int, f: Fitted, features: tuple[str, ...]) -> Part:
    """Fold k's validation block scored by fold k's booster (rows in event-time order)."""
    val = folds.splits[k].val
    return Part(f.predict(folds.X(k, features)[val]), folds.y[val], folds.w[val], folds.success[val])


def _scorer(name: str, f: Fitted, features: tuple[str, ...], enc: D.Encoder, final: Part, parts: list[Part],
            s: Settings, serve: Fitted | None = None, reference: np.ndarray | None = None,
            ) -> tuple[Scorer, dict[str, Any]]:
    """Calibrator and tiers from `f`'s out-of-sample validation scores; the booster scored is
    `serve` (f refitted on training + validation, model.refit_on_val; its calibrator rank-matched
    to f's on the `reference` rows: the test days' successful logins) or f itself."""
    cal, tiers, choice = calibrate_and_tier(final.raw, final.y, final.w, s, logit_in=True, folds=parts,
                                            success_val=final.success)
    if serve is None:
        return Scorer(name, features, enc, f.booster, f.best_iteration, f.impute, cal, tiers), choice
    # The refitted booster saw validation, so its scores there cannot be calibrated; its scores are
    # carried onto f's scale by rank on the test days' successful logins (scores only, no labels),
    # which neither saw: both then challenge the same share of them.
    if reference is None or len(reference) < 2:
        raise ValueError("model.refit_on_val needs test days to carry the calibration over (model.test_days)")
    cal = rank_matched(cal, serve.predict(reference), f.predict(reference))
    choice = {**choice, "rank_matched_on_test_rows": len(reference)}
    return Scorer(name, features, enc, serve.booster, serve.best_iteration, serve.impute, cal, tiers), choice


def train(settings: Settings, as_of: date | None = None, progress: Progress | None = None) -> TrainingRun:
    """The whole training run for night `as_of` (default: the newest matured data)."""
    from ato.model.baselines import freeman_block, rules_block
    from ato.model.evaluation import evaluate_blocks

    progress = progress or Progress()
    s = settings
    last = resolve_last_day(s, as_of)
    window = D.plan_window(s, last)
    with progress.step(f"loading training rows {window.start}..{window.end}"):
        df = D.load_training_rows(s, window.start, window.end)
        has_truth = D.attach_truth(df, s.paths.world)
        dhash = D.data_hash(df)
    y, w = training_targets(df)
    fold_windows = D.rolling_folds(s, window)
    folds = _Folds(df, y, w, fold_windows, s.model.refit_on_val)
    imbalance, search, chosen, per_fold = _choose(folds, s, progress)
    k = len(folds.splits) - 1
    sp, enc, final = folds.splits[k], folds.encoders[k], per_fold[-1]
    with progress.step("fallback model (request signals and velocity windows)"):
        fb = folds.fit(k, chosen.method, chosen.params, D.FALLBACK_FEATURES, s)
    serve: dict[str, Fitted | None] = {"model": None, "fallback": None}
    if s.model.refit_on_val:  # the newest labelled days reach the served boosters validation_days sooner
        with progress.step("refit on training + validation days"):
            serve = {"model": folds.refit(k, final, model_features(s), s), "fallback": folds.refit(k, fb, D.FALLBACK_FEATURES, s)}
    scorers, calibration = {}, {}
    # a refitted booster's calibrator is rank-matched on the test days' successful logins: the ones the
    # step-up budget is spent on (a failed login challenges no customer)
    ref_rows = sp.test & folds.success
    with progress.step(f"calibrators {', '.join(s.model.calibrators)} compared on validation"):
        model_parts = [_val_part(folds, i, f, model_features(s)) for i, f in enumerate(per_fold)]
        scorers["model"], calibration["model"] = _scorer("model", final, model_features(s), enc, model_parts[-1], model_parts, s,
                                                         serve["model"], folds.X(k, model_features(s))[ref_rows])
        fb_part = _val_part(folds, k, fb, D.FALLBACK_FEATURES)  # only the final fold has a fallback booster
        scorers["fallback"], calibration["fallback"] = _scorer("fallback", fb, D.FALLBACK_FEATURES, enc, fb_part,
                                                              [fb_part], s, serve["fallback"],
                                                              folds.X(k, D.FALLBACK_FEATURES)[ref_rows])
    val, test = df[sp.val].reset_index(drop=True), df[sp.test].reset_index(drop=True)
    for name, sc in scorers.items():
        for part in (val, test):
            part[f"{name}_raw"], part[f"{name}_p"], part[f"{name}_action"] = sc.score(part)
    with progress.step("rules and Freeman RBA baselines"):
        rules_block(s, val, test)
        calibration["freeman_rba"] = freeman_block(s, window, val, test, w[sp.val])
    metrics = evaluate_blocks(s, window, val, test, has_truth)
    metrics["calibration"] = calibration
    metrics.update({"seed": s.model.seed, "imbalance_method": chosen.method, "params": chosen.params,
                    "refit_on_val": s.model.refit_on_val,
                    "rows": len(df), "data_hash": dhash})
    splits = {f"fold{i + 1}" if i < k else "final": sp_.positives for i, sp_ in enumerate(folds.splits)}
    # Time decides the blocks, so an attack type can be missing from one: say so rather than hide it.
    present = {t for blocks in splits.values() for b in blocks.values() for t in b if t not in ("all", "unknown")}
    metrics["split_missing_attack_types"] = {
        f"{f}/{b}": sorted(present - set(d)) for f, blocks in splits.items() for b, d in blocks.items() if present - set(d)}
    return TrainingRun(window, fold_windows, dhash, len(df), imbalance, search, chosen, scorers, splits,
                       metrics, test, val, {"has_truth": has_truth, "dropped_accounts": sp.dropped_accounts})
