"""Baselines and forecast scores against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.errors import UserError
from rnnkit.forecasting.baselines import drift, naive, seasonal_naive
from rnnkit.forecasting.evaluation import average, coverage, report, scores

HISTORY = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 7.0])


def test_naive_repeats_the_last_value() -> None:
    assert naive(HISTORY, 3).tolist() == [7.0, 7.0, 7.0]


def test_seasonal_naive_tiles_the_last_season() -> None:
    assert seasonal_naive(HISTORY, 5, 3).tolist() == [3.0, 5.0, 7.0, 3.0, 5.0]
    assert seasonal_naive(HISTORY, 2, 10).tolist() == [7.0, 7.0]  # too short: naive


def test_drift_extends_the_first_to_last_line() -> None:
    # slope (7 - 1) / 5 = 1.2
    assert drift(HISTORY, 2) == pytest.approx([8.2, 9.4])


def test_baselines_refuse_empty_history() -> None:
    with pytest.raises(UserError):
        naive(np.array([]), 1)


def test_scores_by_hand_and_mape_only_for_positive_series() -> None:
    truth, forecast = np.array([8.0, 10.0]), np.array([7.0, 7.0])
    s = scores(truth, forecast, HISTORY, 1)
    assert s["mae"] == pytest.approx(2.0)
    assert s["rmse"] == pytest.approx(np.sqrt((1 + 9) / 2))
    # in-sample lag-1 MAE: |1|,|2|,|1|,|2|,|2| -> 1.6
    assert s["mase"] == pytest.approx(2.0 / 1.6)
    assert s["mape"] == pytest.approx(100 * (1 / 8 + 3 / 10) / 2)
    assert s["smape"] == pytest.approx(100 * (2 / 15 + 6 / 17) / 2)
    assert scores(truth, forecast, -HISTORY, 1)["mape"] is None


def test_average_skips_undefined_and_coverage_counts_inside() -> None:
    assert average([{"a": 1.0, "b": None}, {"a": 3.0, "b": None}]) == {"a": 2.0, "b": None}
    bounds = np.array([[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]], dtype=float)  # lo95 lo80 f hi80 hi95
    assert coverage([np.array([2.5, 3.5])], [bounds]) == {"80": 0.5, "95": 1.0}


def test_report_has_every_method_and_metric() -> None:
    out = report([HISTORY], [np.array([8.0, 9.0])], [np.array([[8.0], [9.0]])], 3)
    assert list(out) == ["model", "naive", "seasonal_naive", "drift", "naive2"]  # positive
    for method in out.values():
        assert set(method) == {"mae", "rmse", "mase", "smape", "mape", "owa"}
    signed = report([HISTORY - 4], [np.array([8.0, 9.0])], [np.array([[8.0], [9.0]])], 3)
    assert list(signed) == ["model", "naive", "seasonal_naive", "drift"]  # no Naive2, no OWA
    assert "owa" not in signed["model"]
    assert out["model"]["mae"] == 0.0
    assert out["seasonal_naive"]["mae"] == pytest.approx((5 + 4) / 2)
