"""Scoring forecasts against the truth, beside the naive, seasonal naive and drift baselines.

Metrics are computed per series (MASE needs each series' own in-sample scale) and then averaged
over series. MAPE is reported only for series whose history and test values are all positive
(elsewhere it is undefined or meaningless); with none such it is ``None`` (null in JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit import metrics
from rnnkit.forecasting.baselines import BASELINES

METRICS = ("mae", "rmse", "mase", "smape", "mape")


def scores(
    truth: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int
) -> dict[str, float | None]:
    """MAE, RMSE, MASE (against the lag-``season`` naive in-sample), sMAPE and MAPE (%)."""
    positive = bool((truth > 0).all() and (history > 0).all())
    return {
        "mae": metrics.mae(truth, forecast),
        "rmse": metrics.rmse(truth, forecast),
        "mase": metrics.mase(truth, forecast, history, season),
        "smape": metrics.smape(truth, forecast),
        "mape": metrics.mape(truth, forecast) if positive else None,
    }


def average(per_series: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Mean of each metric over series, skipping the undefined ones (None/NaN)."""
    result: dict[str, float | None] = {}
    for key in per_series[0]:
        values = [v for s in per_series if (v := s[key]) is not None and np.isfinite(v)]
        result[key] = float(np.mean(values)) if values else None
    return result


def coverage(truths: Sequence[np.ndarray], intervals: Sequence[np.ndarray]) -> dict[str, float]:
    """Share of test values inside the 80% and 95% intervals, pooled over all series.

    ``intervals[i]`` is (steps, 5): lo_95, lo_80, forecast, hi_80, hi_95.
    """
    truth = np.concatenate([np.asarray(t, np.float64) for t in truths])
    bounds = np.concatenate([np.asarray(b, np.float64) for b in intervals])  # (N, 5)
    inside_80 = (bounds[:, 1] <= truth) & (truth <= bounds[:, 3])
    inside_95 = (bounds[:, 0] <= truth) & (truth <= bounds[:, 4])
    return {"80": float(inside_80.mean()), "95": float(inside_95.mean())}


def report(
    histories: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    forecasts: Sequence[np.ndarray],
    season: int,
) -> dict[str, Any]:
    """``{"model": {...}, "naive": {...}, "seasonal_naive": {...}, "drift": {...}}``.

    ``forecasts[i]`` is (steps_i, K): column 2 is the point forecast when K == 5 (intervals,
    whose coverage is added to "model"), column 0 when K == 1.
    """
    point = [f[:, 0] if f.shape[1] == 1 else f[:, 2] for f in forecasts]
    model = average(
        [scores(t, p, h, season) for t, p, h in zip(truths, point, histories, strict=True)]
    )
    if forecasts[0].shape[1] > 1:
        model["coverage"] = coverage(truths, forecasts)  # type: ignore[assignment]
    result: dict[str, Any] = {"model": model}
    for name, baseline in BASELINES.items():
        result[name] = average(
            [
                scores(t, baseline(h, len(t), season), h, season)
                for t, h in zip(truths, histories, strict=True)
            ]
        )
    return result


def mean_report(folds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The per-method, per-metric mean over backtest folds (coverage averaged too)."""
    result: dict[str, Any] = {}
    for method in folds[0]:
        flat = [{k: v for k, v in fold[method].items() if k != "coverage"} for fold in folds]
        result[method] = average(flat)
        if "coverage" in folds[0][method]:
            result[method]["coverage"] = average([fold[method]["coverage"] for fold in folds])
    return result


def format_report(report_: dict[str, Any]) -> str:
    """A small text table: one row per method, one column per metric."""
    header = f"{'method':<16}" + "".join(f"{m:>10}" for m in METRICS)
    lines = [header, "-" * len(header)]
    for method, values in report_.items():
        cells = "".join(
            f"{v:>10.3f}" if isinstance(v := values.get(m), float) else f"{'-':>10}"
            for m in METRICS
        )
        lines.append(f"{method:<16}{cells}")
    if "coverage" in report_.get("model", {}):
        cov = report_["model"]["coverage"]
        lines.append(f"interval coverage: 80% -> {cov['80']:.2f}, 95% -> {cov['95']:.2f}")
    return "\n".join(lines)
