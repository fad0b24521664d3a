"""A scorer as it is stored and served: booster, feature list, category vocabularies,
calibrator and action tiers. The model and the fallback model are both `Scorer`s."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ato.model.calibration import Calibrator
from ato.model.data import Encoder, feature_hash
from ato.model.fit import impute
from ato.model.reasons import reason_table, top_reasons, top_row_reasons
from ato.model.tiers import Tiers


@dataclass
class Scorer:
    """Everything needed to turn feature rows into (raw score, probability, action, reasons)."""

    name: str
    features: tuple[str, ...]
    encoder: Encoder
    booster: Any
    best_iteration: int
    impute: bool
    calibrator: Calibrator
    tiers: Tiers

    def matrix(self, df: pd.DataFrame) -> np.ndarray:
        X = self.encoder.matrix(df, self.features)
        return impute(X) if self.impute else X

    def raw(self, df: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(self.matrix(df), num_iteration=self.best_iteration))

    def score(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw score (for ranking), calibrated probability and action per row."""
        raw = self.raw(df)
        p = self.calibrator(raw)
        return raw, p, self.tiers.action(p)

    @cached_property
    def _row_predictor(self) -> Callable[[np.ndarray], float]:
        """LightGBM's single-row fast path, or the wrapper's predict where the library lacks it."""
        try:
            from ato.model.rowpredict import RowPredictor

            return RowPredictor(self.booster, self.best_iteration, len(self.features))
        except Exception:  # e.g. a LightGBM build without the fast C entry points
            return lambda x: float(self.booster.predict(x, num_iteration=self.best_iteration)[0])

    @cached_property
    def _row_contrib(self) -> Callable[[np.ndarray], np.ndarray]:
        """One row's contributions through the single-row fast path (equal to `pred_contrib`)."""
        try:
            from ato.model.rowpredict import RowContrib

            return RowContrib(self.booster, self.best_iteration, len(self.features))
        except Exception:
            return lambda x: np.asarray(self.booster.predict(x, num_iteration=self.best_iteration,
                                                             pred_contrib=True))[0]

    @cached_property
    def reason_texts(self) -> tuple[str, ...]:
        """Each feature's reason text, computed once."""
        return reason_table(self.features)

    @cached_property
    def _slots(self) -> list[tuple[str, dict[str, float] | None]]:
        """Per feature: its name and, for a category, value -> code (serving's one-row path)."""
        return [(c, {v: float(i) for i, v in enumerate(self.encoder.vocab[c])} if c in self.encoder.vocab else None)
                for c in self.features]

    @cached_property
    def _plan(self) -> tuple[Callable[[Mapping[str, Any]], tuple[Any, ...]], tuple[tuple[int, dict[str, float]], ...]]:
        """Serving's one-row path: every feature read in model order in one C call, then the categories' codes."""
        from operator import itemgetter

        get = itemgetter(*self.features)
        cats = tuple((i, codes) for i, (_, codes) in enumerate(self._slots) if codes is not None)
        return (get if len(self.features) > 1 else lambda row: (get(row),)), cats

    def row_matrix(self, row: Mapping[str, Any]) -> np.ndarray:
        """One feature vector (a dict) as the 1-row matrix `matrix` would build for it."""
        nan = np.nan
        get, cats = self._plan
        try:  # the vectors serving builds: floats (NaN or None for missing) and category strings
            try:
                vals = list(get(row))
            except KeyError:  # a vector without every feature: the missing ones are NaN
                vals = [row.get(c, nan) for c in self.features]
            for i, codes in cats:
                vals[i] = codes.get(vals[i], nan)
            x = np.array([vals], dtype=np.float64)
        except (TypeError, ValueError):  # anything else: value by value, unparseable as missing
            x = np.array([[self._value(row.get(c), codes) for c, codes in self._slots]], dtype=np.float64)
        return impute(x) if self.impute else x

    @staticmethod
    def _value(v: Any, codes: dict[str, float] | None) -> float:
        if v is None:
            return float("nan")
        if codes is not None:
            return codes.get(str(v), float("nan"))
        try:
            return float(v)
        except (TypeError, ValueError):
            return float("nan")

    def score_row(self, row: Mapping[str, Any]) -> tuple[float, str, np.ndarray]:
        """Serving: (calibrated probability, action, the row's matrix) for one feature vector."""
        x = self.row_matrix(row)
        p = self.calibrator.one(self._row_predictor(x))
        return p, self.tiers.action_one(p), x

    def row_reasons(self, x: np.ndarray, k: int = 3) -> list[str]:
        """One row's reasons: `reasons` of that row, from the fast contributions and the text table."""
        return top_row_reasons(self._row_contrib(x), self.reason_texts, k)

    def contributions(self, df: pd.DataFrame) -> np.ndarray:
        """TreeSHAP contributions (log-odds), one column per feature plus the bias."""
        return np.asarray(self.booster.predict(self.matrix(df), num_iteration=self.best_iteration, pred_contrib=True))

    def reasons(self, df: pd.DataFrame, k: int = 3) -> list[list[str]]:
        return top_reasons(self.contributions(df), self.features, k)

    def meta(self) -> dict[str, Any]:
        return {"features": list(self.features), "feature_hash": feature_hash(self.features, self.encoder.vocab),
                "vocab": self.encoder.vocab, "best_iteration": self.best_iteration, "impute_missing": self.impute,
                "calibrator": self.calibrator.to_json(), "tiers": self.tiers.starts}

    def save(self, folder: Path) -> dict[str, Any]:
        self.booster.save_model(str(folder / f"{self.name}.txt"), num_iteration=self.best_iteration)
        return self.meta()

    @classmethod
    def load(cls, folder: Path, name: str, meta: dict[str, Any]) -> Scorer:
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(folder / f"{name}.txt"))
        features = tuple(meta["features"])
        enc = Encoder({k: list(v) for k, v in meta["vocab"].items()})
        if feature_hash(features, enc.vocab) != meta["feature_hash"]:
            raise ValueError(f"{folder}: feature list does not match its hash")
        return cls(name, features, enc, booster, int(meta["best_iteration"]), bool(meta["impute_missing"]),
                   Calibrator.from_json(meta["calibrator"]), Tiers(dict(meta["tiers"])))


def load_bundle(folder: str | Path) -> dict[str, Scorer]:
    """The registered scorers of one model version: {"model": ..., "fallback": ...}."""
    folder = Path(folder)
    manifest = json.loads((folder / "bundle.json").read_text())
    return {name: Scorer.load(folder, name, meta) for name, meta in manifest["scorers"].items()}
