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


# --- classification and language modelling ---------------------------------------------------


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes) of integer labels: row = true class, column = predicted."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    counts = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of labels predicted exactly."""
    return float(np.mean(np.asarray(y_true).ravel() == np.asarray(y_pred).ravel()))


def macro_f1(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> float:
    """Unweighted mean over classes of F1 = 2 TP / (2 TP + FP + FN).

    A class neither true nor predicted anywhere is left out (its F1 is undefined), as
    scikit-learn does by scoring only the labels present in either array.
    """
    counts = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(counts).astype(np.float64)
    denominator = counts.sum(axis=0) + counts.sum(axis=1)  # 2 TP + FP + FN
    present = denominator > 0
    return float(np.mean(2 * tp[present] / denominator[present])) if present.any() else 0.0
