"""The embedded snapshot's feature values as one float matrix per kind (account, IP, device), rows
found by key: a lookup hands the feature vector a row of floats in column order instead of a dict
to convert value by value. Built once per snapshot (start-up, reload), not per request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ato.features.columns import ACCOUNT_FEATURES, ENTITY_FEATURES

NAN = float("nan")
COLUMNS: dict[str, tuple[str, ...]] = {"account": ACCOUNT_FEATURES, "ip": ENTITY_FEATURES, "device": ENTITY_FEATURES}


def as_float(v: Any) -> float:
    """A feature value as a float; None or anything unparseable is missing (NaN)."""
    if v is None:
        return NAN
    try:
        return float(v)
    except (TypeError, ValueError):
        return NAN


@dataclass(frozen=True)
class KindValues:
    """One kind's feature columns (`COLUMNS`) for every key of the snapshot."""

    index: dict[str, int]
    matrix: np.ndarray
    missing: list[float]  # a key the snapshot lacks: every value missing (shared: never mutate)

    def row(self, key: str | None) -> list[float]:
        i = None if key is None else self.index.get(key)
        return self.missing if i is None else self.matrix[i].tolist()


def snapshot_values(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, KindValues]:
    """Per kind, the float matrix of the snapshot's rows (`as_float` of each value, as the vector would)."""
    out = {}
    for kind, cols in COLUMNS.items():
        rows = tables.get(kind, {})
        matrix = np.array([[as_float(r.get(c)) for c in cols] for r in rows.values()], dtype=np.float64)
        out[kind] = KindValues({k: i for i, k in enumerate(rows)}, matrix.reshape(len(rows), len(cols)),
                               [NAN] * len(cols))
    return out
