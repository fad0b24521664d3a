"""One-row LightGBM prediction through the C library's single-row fast path
(`LGBM_BoosterPredictForMatSingleRowFast`): the configuration is prepared once per booster, so a
login costs a few microseconds instead of the Python wrapper's ~50 µs of array checks (and its
OpenMP threads). Serving only; `Booster.predict` stays the reference, and tests hold the two equal:
the raw score (`RowPredictor`) and the TreeSHAP contributions (`RowContrib`, LightGBM's own
`pred_contrib` computed by the same C routine, one thread)."""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np


class _FastRow:
    """A prepared single-row prediction of one kind (`predict_type`) with an output of `out_len` values.
    Its buffers are reused: one caller at a time (serving's event loop)."""

    def __init__(self, booster: Any, num_iteration: int, ncol: int, predict_type: int, out_len: int) -> None:
        from lightgbm import basic

        self._lib, self._check = basic._LIB, basic._safe_call
        self._fast = ctypes.c_void_p()
        self._check(self._lib.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle, ctypes.c_int(predict_type), ctypes.c_int(0),
            ctypes.c_int(num_iteration), ctypes.c_int(basic._C_API_DTYPE_FLOAT64), ctypes.c_int32(ncol),
            basic._c_str("num_threads=1"), ctypes.byref(self._fast)))
        self.ncol = ncol
        self._booster = booster  # the fast config points into it: keep it alive
        self._out = np.zeros(out_len, dtype=np.float64)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._len = ctypes.c_int64()
        self._len_ref = ctypes.byref(self._len)
        self._row = np.zeros(ncol, dtype=np.float64)  # the input is copied here: its pointer is made once
        self._row_ptr = ctypes.c_void_p(self._row.ctypes.data)
        self._predict = self._lib.LGBM_BoosterPredictForMatSingleRowFast

    def _run(self, x: np.ndarray) -> None:
        row = np.asarray(x, dtype=np.float64).reshape(-1)
        if row.shape[0] != self.ncol:
            raise ValueError(f"expected {self.ncol} features, got {row.shape[0]}")
        self._row[:] = row
        self._check(self._predict(self._fast, self._row_ptr, self._len_ref, self._out_ptr))

    def __del__(self) -> None:
        fast = getattr(self, "_fast", None)
        if fast is not None and fast.value:
            self._lib.LGBM_FastConfigFree(fast)


class RowPredictor(_FastRow):
    """Raw score of one float64 row of `ncol` features for a booster, at `num_iteration`."""

    def __init__(self, booster: Any, num_iteration: int, ncol: int) -> None:
        from lightgbm import basic

        super().__init__(booster, num_iteration, ncol, basic._C_API_PREDICT_NORMAL, 1)

    def __call__(self, x: np.ndarray) -> float:
        self._run(x)
        return float(self._out[0])


class RowContrib(_FastRow):
    """TreeSHAP contributions of one row (binary model): one value per feature, then the bias, exactly
    what `Booster.predict(x, pred_contrib=True)[0]` returns."""

    def __init__(self, booster: Any, num_iteration: int, ncol: int) -> None:
        from lightgbm import basic

        if booster.num_model_per_iteration() != 1:
            raise ValueError("one-row contributions are for single-output (binary) boosters")
        super().__init__(booster, num_iteration, ncol, basic._C_API_PREDICT_CONTRIB, ncol + 1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._run(x)
        return self._out.copy()
