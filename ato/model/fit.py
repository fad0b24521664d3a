"""Fitting LightGBM with one way of handling the class imbalance, early stopping on the
validation block, and a small seeded hyperparameter search.

Rebalancing happens only inside the training block: `class_weight` reweights its rows and
`smote_nc` oversamples them (imbalanced-learn) before the fit, so validation and test rows are
never resampled or seen by the sampler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SENTINEL = -1.0  # SMOTE needs complete rows: missing values become this (all features are >= 0)


def impute(X: np.ndarray) -> np.ndarray:
    """Missing values as SENTINEL (what the SMOTE-NC arm trains and scores on)."""
    return np.where(np.isnan(X), SENTINEL, X)
SEARCH_SPACE: dict[str, list[Any]] = {
    "num_leaves": [15, 31, 63],
    "learning_rate": [0.03, 0.05, 0.1],
    "min_child_samples": [10, 30, 100],
    "colsample_bytree": [0.6, 0.8, 1.0],
    "reg_lambda": [0.0, 1.0, 10.0],
}
DEFAULT_PARAMS: dict[str, Any] = {"num_leaves": 31, "learning_rate": 0.05, "min_child_samples": 30,
                                  "colsample_bytree": 0.8, "reg_lambda": 1.0}


@dataclass
class Block:
    """One block's matrix, labels and training weights."""

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray

    def imputed(self) -> Block:
        return Block(impute(self.X), self.y, self.w)


@dataclass
class Fitted:
    """A fitted booster and how it was made."""

    method: str
    params: dict[str, Any]
    booster: Any
    best_iteration: int
    impute: bool
    val_pr_auc: float
    extra: dict[str, Any] = field(default_factory=dict)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(impute(X) if self.impute else X, num_iteration=self.best_iteration))


def search_params(trials: int, seed: int) -> list[dict[str, Any]]:
    """The default set first, then `trials - 1` distinct sets drawn with `seed`."""
    rng = np.random.default_rng(seed)
    out = [dict(DEFAULT_PARAMS)]
    seen = {tuple(sorted(DEFAULT_PARAMS.items()))}
    for _ in range(1000):
        if len(out) >= trials:
            break
        p = {k: v[int(rng.integers(len(v)))] for k, v in SEARCH_SPACE.items()}
        key = tuple(sorted(p.items()))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def make_sampler(cat_idx: list[int], ratio: float, n_pos: int, seed: int) -> Any:
    """SMOTE-NC: interpolates numeric features, takes the majority category among neighbours."""
    from imblearn.over_sampling import SMOTENC

    return SMOTENC(categorical_features=cat_idx, sampling_strategy=ratio,
                   k_neighbors=max(1, min(5, n_pos - 1)), random_state=seed)


def varying_columns(X: np.ndarray, cat_idx: list[int]) -> list[int]:
    """The columns SMOTE-NC sees: every categorical one and the numeric ones that vary. A constant
    numeric column would still lower the median standard deviation SMOTE-NC scales categorical
    distances by, so a feature that carries nothing in the training block would change the model."""
    cats = set(cat_idx)
    return [j for j in range(X.shape[1]) if j in cats or np.ptp(X[:, j]) > 0]


def _classifier(params: dict[str, Any], rounds: int, seed: int, monotone: list[int] | None) -> Any:
    import lightgbm as lgb

    extra: dict[str, Any] = {}
    if monotone and any(monotone):
        extra = {"monotone_constraints": monotone, "monotone_constraints_method": "advanced"}
    return lgb.LGBMClassifier(
        objective="binary", n_estimators=rounds, subsample=0.8, subsample_freq=1,
        random_state=seed, deterministic=True, force_row_wise=True, n_jobs=2, verbose=-1, **params, **extra)


def _fit_rows(clf: Any, method: str, train: Block, cat_idx: list[int], seed: int, smote_ratio: float,
              fit_kw: dict[str, Any]) -> dict[str, Any]:
    """Fit `clf` on `train` rebalanced by `method`; what the training block held."""
    n_pos = int(train.y.sum())
    info: dict[str, Any] = {"train_rows": len(train.y), "train_positives": n_pos}
    fit_kw = {"categorical_feature": cat_idx, **fit_kw}
    if method == "smote_nc":
        if train.y[train.w > 0].mean() >= smote_ratio or n_pos < 2:
            raise ValueError(f"SMOTE-NC needs at least 2 positives below ratio {smote_ratio}")
        keep = train.w > 0  # the sampler takes no weights: ambiguous (weight 0) rows are left out
        X, y = train.X[keep], train.y[keep]
        cols = varying_columns(X, cat_idx)
        sampler = make_sampler([cols.index(i) for i in cat_idx], smote_ratio, n_pos, seed)
        Xs, ys = sampler.fit_resample(X[:, cols], y)
        full = np.tile(X[:1], (len(ys), 1))  # a constant column keeps its one value in synthetic rows
        full[:, cols] = Xs
        clf.fit(full, ys, **fit_kw)
        info["synthetic_rows"] = int(sum(sampler.sampling_strategy_.values()))
    else:
        w = train.w.copy()
        if method == "class_weight":
            w[train.y == 1] *= (len(train.y) - n_pos) / max(n_pos, 1)
        clf.fit(train.X, train.y, sample_weight=w, **fit_kw)
    return info


def fit(method: str, params: dict[str, Any], train: Block, val: Block, cat_idx: list[int], *,
        seed: int, max_rounds: int, early_stop: int, smote_ratio: float,
        monotone: list[int] | None = None) -> Fitted:
    """Fit one booster; `method` is none | class_weight | smote_nc. `monotone` (+1/0 per
    feature) keeps the score from falling when a risk signal rises."""
    import lightgbm as lgb
    from sklearn.metrics import average_precision_score

    clf = _classifier(params, max_rounds, seed, monotone)
    impute = method == "smote_nc"
    if impute:
        train, val = train.imputed(), val.imputed()
    fit_kw: dict[str, Any] = {
        "eval_metric": "average_precision", "eval_X": (val.X,), "eval_y": (val.y,), "eval_sample_weight": [val.w],
        "callbacks": [lgb.early_stopping(early_stop, first_metric_only=True, verbose=False)],
    }
    info = _fit_rows(clf, method, train, cat_idx, seed, smote_ratio, fit_kw)
    best = int(clf.best_iteration_ or clf.n_estimators)
    booster = clf.booster_
    raw = np.asarray(booster.predict(val.X, num_iteration=best))
    keep = val.w > 0  # rows with weight 0 (ambiguous labels) do not count
    yk = val.y[keep]
    ap = float(average_precision_score(yk, raw[keep], sample_weight=val.w[keep])) if 0 < yk.sum() < len(yk) else 0.0
    return Fitted(method, dict(params), booster, best, impute, ap, info)


def refit(f: Fitted, rows: Block, cat_idx: list[int], *, seed: int, smote_ratio: float,
          monotone: list[int] | None = None) -> Fitted:
    """`f` made again on `rows` (training and validation blocks together) with its parameters,
    rebalancing and number of rounds, no early stopping (nothing is left to stop on). Its
    validation PR-AUC stays the one that chose it."""
    clf = _classifier(f.params, f.best_iteration, seed, monotone)
    info = _fit_rows(clf, f.method, rows.imputed() if f.impute else rows, cat_idx, seed, smote_ratio, {})
    return Fitted(f.method, dict(f.params), clf.booster_, f.best_iteration, f.impute, f.val_pr_auc,
                  {**f.extra, "refit": info})
