"""Scoring forecasts against the truth, beside the naive, seasonal naive and drift baselines.

Metrics are computed per series (MASE needs each series' own in-sample scale) and then averaged
over series. With intervals the model gains the pooled coverage and ACD of the 80% and 95%
intervals and the 95% MSIS (M4); Naive2 and every method's OWA join when every history is
positive (:mod:`.seasonal`). :func:`per_series_table` lists each series' scores. MAPE is
reported only for series whose history and test values are all positive (elsewhere it is
undefined or meaningless); with none such it is ``None`` (null in JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rnnkit import metrics
from rnnkit.forecasting import interval_scores
from rnnkit.forecasting.baselines import BASELINES
from rnnkit.forecasting.seasonal import naive2

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


def positive(histories: Sequence[np.ndarray]) -> bool:
    """Naive2's multiplicative decomposition is defined: every history is > 0."""
    return all(bool((np.asarray(h) > 0).all()) for h in histories)


def interval_summary(
    truths: Sequence[np.ndarray],
    forecasts: Sequence[np.ndarray],
    histories: Sequence[np.ndarray],
    season: int,
) -> dict[str, Any]:
    """Pooled coverage and ACD ({"80", "95"}) and the mean over series of the 95% MSIS (M4's
    definition: scaled by the in-sample mean absolute seasonal difference, like MASE)."""
    cov = coverage(truths, forecasts)
    per_series = [
        interval_scores.msis(t, f[:, 0], f[:, 4], h, season, alpha=0.05)
        for t, f, h in zip(truths, forecasts, histories, strict=True)
    ]
    finite = [v for v in per_series if np.isfinite(v)]
    return {
        "coverage": cov,
        "acd": {k: abs(cov[k] - level) for k, level in (("80", 0.8), ("95", 0.95))},
        "msis": float(np.mean(finite)) if finite else None,
    }


def owa(method: dict[str, Any], naive2: dict[str, Any]) -> float | None:
    """M4's overall weighted average: (sMAPE / sMAPE(Naive2) + MASE / MASE(Naive2)) / 2."""
    parts = [(method.get(k), naive2.get(k)) for k in ("smape", "mase")]
    if any(a is None or b is None or not b > 0 for a, b in parts):
        return None
    return float(sum(a / b for a, b in parts) / 2)  # type: ignore[operator]


def baseline_forecasts(
    histories: Sequence[np.ndarray], steps: Sequence[int], season: int
) -> dict[str, list[np.ndarray]]:
    """Each baseline's forecasts; Naive2 beside them when every history is positive."""
    methods = dict(BASELINES)
    if positive(histories):
        methods["naive2"] = naive2
    return {
        name: [baseline(h, n, season) for h, n in zip(histories, steps, strict=True)]
        for name, baseline in methods.items()
    }


def report(
    histories: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    forecasts: Sequence[np.ndarray],
    season: int,
) -> dict[str, Any]:
    """``{"model": {...}, "naive": {...}, "seasonal_naive": {...}, "drift": {...}[, "naive2"]}``.

    ``forecasts[i]`` is (steps_i, K): column 2 is the point forecast when K == 5 (intervals:
    "model" gains coverage, acd and msis), column 0 when K == 1. Naive2 (M4) is computed when
    every history is positive, and then every method gets its OWA.
    """
    point = [f[:, 0] if f.shape[1] == 1 else f[:, 2] for f in forecasts]
    model: dict[str, Any] = average(
        [scores(t, p, h, season) for t, p, h in zip(truths, point, histories, strict=True)]
    )
    if forecasts[0].shape[1] > 1:
        model.update(interval_summary(truths, forecasts, histories, season))
    result: dict[str, Any] = {"model": model}
    steps = [len(t) for t in truths]
    for name, paths in baseline_forecasts(histories, steps, season).items():
        result[name] = average(
            [scores(t, f, h, season) for t, f, h in zip(truths, paths, histories, strict=True)]
        )
    if "naive2" in result:
        for values in result.values():
            values["owa"] = owa(values, result["naive2"])
    return result


def mean_report(folds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The per-method, per-metric mean over backtest folds (coverage and ACD averaged too)."""
    result: dict[str, Any] = {}
    for method in folds[0]:
        nested = [k for k, v in folds[0][method].items() if isinstance(v, dict)]
        flat = [{k: v for k, v in fold[method].items() if k not in nested} for fold in folds]
        result[method] = average(flat)
        for key in nested:
            result[method][key] = average([fold[method][key] for fold in folds])
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
    model = report_.get("model", {})
    if "coverage" in model:
        cov, msis = model["coverage"], model.get("msis")
        line = f"interval coverage: 80% -> {cov['80']:.2f}, 95% -> {cov['95']:.2f}"
        lines.append(line + (f"; MSIS (95%) {msis:.3f}" if msis is not None else ""))
    owas = {m: v["owa"] for m, v in report_.items() if v.get("owa") is not None}
    if owas:
        lines.append("OWA (vs Naive2): " + ", ".join(f"{m} {v:.3f}" for m, v in owas.items()))
    return "\n".join(lines)


def per_series_table(
    ids: Sequence[str],
    histories: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    forecasts: Sequence[np.ndarray],
    season: int,
) -> pd.DataFrame:
    """One row per series, the worst MASE first: id, points, the model's mae, rmse, mase, smape,
    mape (+ msis, coverage_80, coverage_95 with intervals), and the best baseline's MASE."""
    steps = [len(t) for t in truths]
    baselines = baseline_forecasts(histories, steps, season)
    rows = []
    for i, (key, h, t, f) in enumerate(zip(ids, histories, truths, forecasts, strict=True)):
        point = f[:, 0] if f.shape[1] == 1 else f[:, 2]
        row: dict[str, Any] = {"id": key, "points": len(t), **scores(t, point, h, season)}
        if f.shape[1] > 1:
            row["msis"] = interval_scores.msis(t, f[:, 0], f[:, 4], h, season, alpha=0.05)
            row["coverage_80"] = interval_scores.coverage(t, f[:, 1], f[:, 3])
            row["coverage_95"] = interval_scores.coverage(t, f[:, 0], f[:, 4])
        for name, paths in baselines.items():
            row[f"mase_{name}"] = metrics.mase(t, paths[i], h, season)
        rows.append(row)
    return pd.DataFrame(rows).sort_values("mase", ascending=False, kind="stable")
