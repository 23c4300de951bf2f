"""Metrics against hand computations and the baselines' definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit import metrics


def test_basic_metrics_by_hand() -> None:
    t, p = [1.0, 2.0, 4.0], [2.0, 2.0, 1.0]
    assert metrics.mse(t, p) == pytest.approx((1 + 0 + 9) / 3)
    assert metrics.rmse(t, p) == pytest.approx(math.sqrt(10 / 3))
    assert metrics.mae(t, p) == pytest.approx(4 / 3)
    assert metrics.mape(t, p) == pytest.approx(100 * (1 + 0 + 0.75) / 3)
    assert metrics.smape(t, p) == pytest.approx(100 * (2 / 3 + 0 + 6 / 5) / 3)


def test_smape_zero_over_zero_is_zero() -> None:
    assert metrics.smape([0.0, 1.0], [0.0, 1.0]) == 0.0


def test_mase_is_one_for_the_seasonal_naive_in_sample() -> None:
    train = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0])
    # the in-sample lag-1 naive MAE is mean(|2|,|1|,|3|,|1|,|2|) = 1.8
    assert metrics.mase([10.0], [11.8], train) == pytest.approx(1.0)
    # lag-2 diffs: |2-1|, |5-3|, |4-2|, |6-5| -> mean 1.5
    assert metrics.mase([10.0], [10.9], train, season=2) == pytest.approx(0.9 / 1.5)


def test_last_value_forecast_repeats_last_input() -> None:
    x = np.arange(12.0).reshape(3, 4, 1)
    assert metrics.last_value_forecast(x, horizon=2).tolist() == [[3, 3], [7, 7], [11, 11]]
