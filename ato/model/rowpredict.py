"""One-row LightGBM prediction through the C library's single-row fast path
(`LGBM_BoosterPredictForMatSingleRowFast`): the configuration is prepared once per booster, so a
login costs a few microseconds instead of the Python wrapper's ~50 µs of array checks. Serving
only; `Booster.predict` stays the reference, and a test holds the two equal."""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np


class RowPredictor:
    """Raw score of one float64 row of `ncol` features for a booster, at `num_iteration`."""

    def __init__(self, booster: Any, num_iteration: int, ncol: int) -> None:
        from lightgbm import basic

        self._lib, self._check = basic._LIB, basic._safe_call
        self._fast = ctypes.c_void_p()
        self._check(self._lib.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle, ctypes.c_int(basic._C_API_PREDICT_NORMAL), ctypes.c_int(0),
            ctypes.c_int(num_iteration), ctypes.c_int(basic._C_API_DTYPE_FLOAT64), ctypes.c_int32(ncol),
            basic._c_str("num_threads=1"), ctypes.byref(self._fast)))
        self.ncol = ncol
        self._booster = booster  # the fast config points into it: keep it alive
        self._out = np.zeros(1, dtype=np.float64)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._len = ctypes.c_int64()

    def __call__(self, x: np.ndarray) -> float:
        row = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
        if row.shape[0] != self.ncol:
            raise ValueError(f"expected {self.ncol} features, got {row.shape[0]}")
        self._check(self._lib.LGBM_BoosterPredictForMatSingleRowFast(
            self._fast, row.ctypes.data_as(ctypes.c_void_p), ctypes.byref(self._len), self._out_ptr))
        return float(self._out[0])

    def __del__(self) -> None:
        fast = getattr(self, "_fast", None)
        if fast is not None and fast.value:
            self._lib.LGBM_FastConfigFree(fast)
