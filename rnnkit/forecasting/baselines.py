"""The trivial forecasts every model is reported beside: naive, seasonal naive and drift.

Each takes the history of one series (a 1-D array, oldest first) and the number of steps to
forecast, and returns a 1-D float array of that length (Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice*, section 5.2, "Some simple forecasting methods").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnkit.errors import UserError

Baseline = Callable[[np.ndarray, int, int], np.ndarray]


def _history(history: np.ndarray, steps: int) -> np.ndarray:
    values = np.asarray(history, dtype=np.float64).reshape(-1)
    if values.shape[0] == 0:
        raise UserError("a baseline needs at least one past value")
    if steps <= 0:
        raise UserError(f"steps must be a positive integer, got {steps}")
    return values


def naive(history: np.ndarray, steps: int, season: int = 1) -> np.ndarray:
    """Repeat the last observed value ``steps`` times (``season`` is ignored)."""
    values = _history(history, steps)
    return np.full(steps, values[-1])


def seasonal_naive(history: np.ndarray, steps: int, season: int = 1) -> np.ndarray:
    """Repeat the last full season: step h gets the value one (or more) seasons before it.

    Falls back to :func:`naive` when the history is shorter than one season.
    """
    values = _history(history, steps)
    if season <= 1 or values.shape[0] < season:
        return naive(values, steps)
    last_season = values[-season:]
    return np.resize(last_season, steps)  # tiles the season: h -> last_season[h % season]


def drift(history: np.ndarray, steps: int, season: int = 1) -> np.ndarray:
    """Extend the line from the first to the last value: ``y_T + h (y_T - y_1) / (T - 1)``."""
    values = _history(history, steps)
    if values.shape[0] < 2:
        return naive(values, steps)
    slope = (values[-1] - values[0]) / (values.shape[0] - 1)
    return values[-1] + slope * np.arange(1, steps + 1)


# name -> forecast function, in the order reports list them
BASELINES: dict[str, Baseline] = {
    "naive": naive,
    "seasonal_naive": seasonal_naive,
    "drift": drift,
}
