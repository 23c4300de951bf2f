"""The seasonality test, classical multiplicative decomposition and Naive2 of the M4 benchmarks.

Naive2 (Makridakis, Spiliotis & Assimakopoulos, "The M4 Competition", IJF 2020) is the naive
forecast of the seasonally adjusted series, re-seasonalised over the horizon. The series counts
as seasonal when its lag-``m`` autocorrelation passes a 90% test; the seasonal indices come from
a classical multiplicative decomposition (R's ``decompose(type = "multiplicative")``): a centred
moving average of order ``m`` as the trend, ratios of the series to it, their mean per position
in the season, normalised to average 1.

Positions in the season count from the first observation (index 0 has phase 0).
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit.errors import UserError

Z_90 = 1.645  # one-sided 95% normal quantile, the M4 code's 90% two-sided critical value


def _values(y: np.ndarray) -> np.ndarray:
    values = np.asarray(y, dtype=np.float64).reshape(-1)
    if values.shape[0] == 0 or not np.isfinite(values).all():
        raise UserError("a series needs at least one value and no missing or infinite ones")
    return values


def acf(y: np.ndarray, nlags: int) -> np.ndarray:
    """Sample autocorrelations at lags 0..``nlags`` (the biased estimator R and statsmodels use).

    acf(k) = sum_t (y_t - mean)(y_{t+k} - mean) / sum_t (y_t - mean)^2; NaN for a constant series.
    """
    values = _values(y)
    centred = values - values.mean()
    denominator = float(centred @ centred)
    lags = np.arange(min(nlags, values.shape[0] - 1) + 1)
    numerators = np.array([centred[k:] @ centred[: values.shape[0] - k] for k in lags])
    if denominator == 0.0:
        return np.full(lags.shape[0], np.nan)
    return numerators / denominator


def seasonality_test(y: np.ndarray, season: int) -> bool:
    """The M4 benchmarks' 90% test: is ``y`` seasonal with period ``season``?

    True when |acf(m)| > 1.645 sqrt((1 + 2 sum_{k=1}^{m-1} acf(k)^2) / n). As in the organisers'
    R code, a series shorter than three seasons is not seasonal, and neither is one whose
    default R ``acf`` lag count, floor(10 log10 n), stops short of lag m (R's value is NA there).
    """
    values = _values(y)
    n = values.shape[0]
    if season <= 1 or n < 3 * season or math.floor(10 * math.log10(n)) < season:
        return False
    r = acf(values, season)
    limit = Z_90 * math.sqrt((1.0 + 2.0 * float(np.sum(r[1:season] ** 2))) / n)
    return bool(abs(r[season]) > limit)  # False for a constant series (NaN compares False)


def centred_moving_average(y: np.ndarray, season: int) -> np.ndarray:
    """The classical decomposition's trend: a centred moving average of order ``season``.

    For an even ``season`` it is the 2 x m average (weights 1/2m at both ends, 1/m inside).
    NaN where the window runs past either end of the series.
    """
    values = _values(y)
    if season % 2 == 0:
        weights = np.r_[0.5, np.ones(season - 1), 0.5] / season
    else:
        weights = np.ones(season) / season
    half = weights.shape[0] // 2
    trend = np.full(values.shape[0], np.nan)
    if values.shape[0] >= weights.shape[0]:
        trend[half : values.shape[0] - half] = np.convolve(values, weights, mode="valid")
    return trend


def seasonal_indices(y: np.ndarray, season: int) -> np.ndarray:
    """Multiplicative seasonal indices (length ``season``, mean 1) by phase from the first value.

    Index i is the mean of y_t / trend_t over the points of phase i where the trend exists,
    then all are divided by their mean. Needs at least two full seasons.
    """
    values = _values(y)
    if season < 2 or values.shape[0] < 2 * season:
        raise UserError(f"a decomposition needs season >= 2 and two seasons of data, got {season}")
    ratios = values / centred_moving_average(values, season)
    padded = np.full(-(-values.shape[0] // season) * season, np.nan)
    padded[: values.shape[0]] = ratios
    figure = np.nanmean(padded.reshape(-1, season), axis=0)
    return figure / figure.mean()


def naive2(history: np.ndarray, steps: int, season: int) -> np.ndarray:
    """The M4 Naive2 forecast of ``steps`` values: naive on the seasonally adjusted series.

    When :func:`seasonality_test` passes, the last value is divided by its seasonal index and
    each step h is multiplied by the index of its own phase; otherwise it is the naive forecast.
    """
    values = _values(history)
    if steps <= 0:
        raise UserError(f"steps must be a positive integer, got {steps}")
    if not seasonality_test(values, season):
        return np.full(steps, values[-1])
    figure = seasonal_indices(values, season)
    n = values.shape[0]
    future = figure[(n + np.arange(steps)) % season]  # phase of position n + h - 1
    return values[-1] / figure[(n - 1) % season] * future
