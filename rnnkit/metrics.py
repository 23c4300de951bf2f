"""Error metrics and the trivial baselines every model is reported beside.

All metrics take arrays of the same shape (any shape) and return a float. Percent metrics
(sMAPE, MAPE) are in percent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

ArrayLike = Any  # numpy array, torch tensor, list or scalar


def _np(a: ArrayLike) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def mse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean squared error."""
    return float(np.mean((_np(y_true) - _np(y_pred)) ** 2))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error."""
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(_np(y_true) - _np(y_pred))))


def mape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute percentage error, in percent (only meaningful for a positive series)."""
    t, p = _np(y_true), _np(y_pred)
    return float(100.0 * np.mean(np.abs((t - p) / t)))


def smape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Symmetric MAPE in percent: mean of 2|y - yhat| / (|y| + |yhat|), 0 where both are 0."""
    t, p = _np(y_true), _np(y_pred)
    denom = np.abs(t) + np.abs(p)
    ratio = np.divide(2.0 * np.abs(t - p), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100.0 * np.mean(ratio))


def mase(y_true: ArrayLike, y_pred: ArrayLike, y_train: ArrayLike, season: int = 1) -> float:
    """Mean absolute scaled error (Hyndman & Koehler 2006).

    The forecast's MAE divided by the in-sample MAE of the seasonal naive forecast (lag
    ``season``) on the training series ``y_train``; below 1 beats that naive forecast.
    """
    history = _np(y_train).reshape(-1)
    season = season if history.shape[0] > season else 1
    scale = np.mean(np.abs(history[season:] - history[:-season]))
    return float(mae(y_true, y_pred) / scale) if scale > 0 else float("nan")


def regression_report(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """MSE, RMSE and MAE together."""
    return {
        "mse": mse(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "mae": mae(y_true, y_pred),
    }


def last_value_forecast(x: ArrayLike, horizon: int = 1) -> np.ndarray:
    """The naive forecast for windows ``x`` of shape (N, window[, 1]): repeat the last value.

    Returns (N, horizon).
    """
    windows = _np(x).reshape(_np(x).shape[0], -1)  # (N, window)
    return np.repeat(windows[:, -1:], horizon, axis=1)  # (N, horizon)
