"""Scores of prediction intervals as the M4 competition used them: MSIS, coverage and ACD.

The interval score of a (1 - alpha) interval [L, U] for a value y (Gneiting & Raftery 2007) is
(U - L) + 2/alpha (L - y) 1{y < L} + 2/alpha (y - U) 1{y > U}. M4's MSIS is its mean over the
horizon divided by the series' in-sample mean absolute seasonal difference, the same scale as
MASE (see :func:`seasonal_scale`). Coverage is the share of values with L <= y <= U; ACD is the
absolute difference between coverage and the nominal level.
"""

from __future__ import annotations

import numpy as np

from rnnkit.errors import UserError


def _arrays(*arrays: np.ndarray) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=np.float64) for a in arrays]
    if any(a.shape != out[0].shape for a in out):
        raise UserError("values and interval bounds must have the same shape")
    return out


def seasonal_scale(history: np.ndarray, season: int) -> float:
    """Mean of |y_t - y_{t-m}| over the history: the MASE and MSIS denominator (lag 1 if short)."""
    values = np.asarray(history, dtype=np.float64).reshape(-1)
    lag = season if values.shape[0] > season else 1
    if values.shape[0] <= lag:
        return float("nan")
    return float(np.mean(np.abs(values[lag:] - values[:-lag])))


def interval_score(
    y: np.ndarray, lower: np.ndarray, upper: np.ndarray, alpha: float = 0.05
) -> np.ndarray:
    """Pointwise interval score of [lower, upper] as a (1 - alpha) interval (same shape as y)."""
    y, lower, upper = _arrays(y, lower, upper)
    below = np.clip(lower - y, 0.0, None)
    above = np.clip(y - upper, 0.0, None)
    return (upper - lower) + (2.0 / alpha) * (below + above)


def msis(
    y: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    history: np.ndarray,
    season: int = 1,
    alpha: float = 0.05,
) -> float:
    """Mean scaled interval score of one series' forecast interval (M4: alpha = 0.05)."""
    scale = seasonal_scale(history, season)
    score = float(np.mean(interval_score(y, lower, upper, alpha)))
    return score / scale if scale > 0 else float("nan")


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of values inside their interval, bounds included."""
    y, lower, upper = _arrays(y, lower, upper)
    return float(np.mean((lower <= y) & (y <= upper)))


def acd(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float = 0.95) -> float:
    """Absolute coverage difference |coverage - level| (pool all series' points to score a set)."""
    return abs(coverage(y, lower, upper) - level)
