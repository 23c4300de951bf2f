"""The M4 competition: its subsets, the official files, its scores and its baselines.

Scores follow "The M4 Competition: 100,000 time series and 61 forecasting methods"
(Makridakis, Spiliotis & Assimakopoulos, IJF 2020) and the organisers' benchmark code: sMAPE
(200 |y - yhat| / (|y| + |yhat|)) and MASE (|y - yhat| over the series' in-sample mean absolute
difference at the subset's seasonal period) averaged over every forecast point of a subset,
OWA = (sMAPE / sMAPE(Naive2) + MASE / MASE(Naive2)) / 2 from the subset's averages, and for
the 95% intervals MSIS (alpha = 0.05, same scale as MASE), coverage and ACD = |coverage - 0.95|.

The subset table and published figures live in :mod:`rnnkit.forecasting.m4_subsets`, the reader
in :mod:`rnnkit.forecasting.m4_read`, Naive2 in :mod:`rnnkit.forecasting.seasonal`; all that is
public is importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rnnkit import metrics
from rnnkit.errors import UserError, unknown
from rnnkit.forecasting import interval_scores
from rnnkit.forecasting.baselines import naive, seasonal_naive
from rnnkit.forecasting.m4_read import OFFICIAL, read_m4
from rnnkit.forecasting.m4_subsets import (
    PUBLISHED,
    SUBSETS,
    Published,
    Subset,
    published_table,
    subset_info,
)
from rnnkit.forecasting.seasonal import naive2, seasonality_test

__all__ = [
    "BASELINES",
    "OFFICIAL",
    "PUBLISHED",
    "SUBSETS",
    "Published",
    "Subset",
    "baseline_forecasts",
    "baseline_table",
    "published_table",
    "read_m4",
    "score_m4",
    "subset_info",
]

LEVEL = 0.95  # the one interval M4 scored (alpha = 0.05)
BASELINES = {"naive": naive, "seasonal_naive": seasonal_naive, "naive2": naive2}


def _columns(frame: pd.DataFrame, what: str, needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise UserError(f"{what} lacks column(s) {', '.join(missing)} (needs {', '.join(needed)})")


def _histories(train_long: pd.DataFrame) -> dict[str, np.ndarray]:
    """id -> training values ordered by t, in the order the ids first appear."""
    _columns(train_long, "the training frame", ("id", "t", "y"))
    ordered = train_long.assign(id=train_long["id"].astype(str)).sort_values("t", kind="stable")
    groups = ordered.groupby("id", sort=False)["y"]
    return {str(key): group.to_numpy(np.float64) for key, group in groups}


def _test_histories(train_long: pd.DataFrame, test: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    histories = _histories(train_long)
    _columns(test, "the test frame", ("id", "h", "y"))
    test = test.assign(id=test["id"].astype(str), h=test["h"].astype(np.int64))
    unknown_ids = sorted(set(test["id"]) - set(histories))
    if unknown_ids:
        raise UserError(f"test series {unknown_ids[0]} has no training history")
    return histories, test


def _forecast_all(
    histories: Mapping[str, np.ndarray], test: pd.DataFrame, method: str, season: int
) -> pd.DataFrame:
    if method not in BASELINES:
        raise unknown("M4 baseline", method, BASELINES)
    ids, hs, paths = [], [], []
    for key, steps in test.groupby("id", sort=False)["h"]:
        h = steps.to_numpy()
        ids.append(np.full(h.shape[0], str(key), dtype=object))
        hs.append(h)
        paths.append(BASELINES[method](histories[str(key)], int(h.max()), season)[h - 1])
    return pd.DataFrame(
        {"id": np.concatenate(ids), "h": np.concatenate(hs), "yhat": np.concatenate(paths)}
    )


def baseline_forecasts(
    train_long: pd.DataFrame, test: pd.DataFrame, subset: str, method: str = "naive2"
) -> pd.DataFrame:
    """Forecasts (id, h, yhat) of "naive", "seasonal_naive" or "naive2" for every test point."""
    histories, test = _test_histories(train_long, test)
    return _forecast_all(histories, test, method, subset_info(subset).season)


def _join(test: pd.DataFrame, forecasts: pd.DataFrame) -> pd.DataFrame:
    _columns(forecasts, "the forecasts", ("id", "h", "yhat"))
    intervals = [c for c in ("lo_95", "hi_95") if c in forecasts.columns]
    if len(intervals) == 1:
        raise UserError("the forecasts need both lo_95 and hi_95 for interval scores, or neither")
    if "lo_80" in forecasts.columns and "hi_80" in forecasts.columns and intervals:
        intervals += ["lo_80", "hi_80"]
    fc = forecasts[["id", "h", "yhat", *intervals]]
    fc = fc.assign(id=fc["id"].astype(str), h=fc["h"].astype(np.int64))
    if fc.duplicated(["id", "h"]).any():
        raise UserError("the forecasts hold more than one row for some (id, h)")
    merged = test.merge(fc, on=["id", "h"], how="left")
    lacking = ~np.isfinite(merged[["yhat", *intervals]].to_numpy(np.float64)).all(axis=1)
    if lacking.any():
        first = merged[lacking].iloc[0]
        raise UserError(
            f"no finite forecast for {int(lacking.sum())} test point(s), e.g. series "
            f"{first['id']} h={first['h']}"
        )
    if intervals and (merged["lo_95"] > merged["hi_95"]).any():
        raise UserError("lo_95 is above hi_95 for some forecasts")
    return merged


def _score(
    histories: Mapping[str, np.ndarray],
    merged: pd.DataFrame,
    reference: pd.DataFrame,
    info: Subset,
) -> dict[str, Any]:
    m = info.season
    intervals = "lo_95" in merged.columns
    rows = []
    for (key, part), (_, ref) in zip(
        merged.groupby("id", sort=False), reference.groupby("id", sort=False), strict=True
    ):
        y, yhat, hist = part["y"].to_numpy(), part["yhat"].to_numpy(), histories[str(key)]
        row = {
            "id": key,
            "n": hist.shape[0],
            "points": y.shape[0],
            "seasonal": seasonality_test(hist, m),
            "scale": interval_scores.seasonal_scale(hist, m),
            "smape": metrics.smape(y, yhat),
            "mase": metrics.mase(y, yhat, hist, m),
            "smape_naive2": metrics.smape(y, ref["yhat"].to_numpy()),
            "mase_naive2": metrics.mase(y, ref["yhat"].to_numpy(), hist, m),
        }
        if intervals:
            lo, hi = part["lo_95"].to_numpy(), part["hi_95"].to_numpy()
            row["msis"] = interval_scores.msis(y, lo, hi, hist, m, alpha=0.05)
            row["coverage"] = interval_scores.coverage(y, lo, hi)
            if "lo_80" in part.columns:
                lo80, hi80 = part["lo_80"].to_numpy(), part["hi_80"].to_numpy()
                row["coverage_80"] = interval_scores.coverage(y, lo80, hi80)
        rows.append(row)
    table = pd.DataFrame(rows)
    weights = table["points"].to_numpy()

    def mean(column: str) -> float:  # over all points: series means weighted by their points
        return float(np.average(table[column].to_numpy(np.float64), weights=weights))

    points = int(weights.sum())
    result: dict[str, Any] = {"subset": info.name, "series": len(table), "points": points}
    for column in ("smape", "mase", "smape_naive2", "mase_naive2"):
        result[column] = mean(column)
    ratio = result["smape"] / result["smape_naive2"] + result["mase"] / result["mase_naive2"]
    result["owa"] = ratio / 2
    if intervals:
        result["msis"] = mean("msis")
        result["coverage"] = mean("coverage")
        result["acd"] = abs(result["coverage"] - LEVEL)
        if "coverage_80" in table.columns:
            result["coverage_80"] = mean("coverage_80")
    result["per_series"] = table
    return result


def score_m4(
    train_long: pd.DataFrame, test: pd.DataFrame, forecasts: pd.DataFrame, subset: str
) -> dict[str, Any]:
    """Score forecasts (id, h, yhat; optionally lo_95, hi_95) of a subset's test points.

    Returns smape, mase, owa (against Naive2 on the same training data), smape_naive2,
    mase_naive2, with intervals msis, coverage and acd (95%; with lo_80, hi_80 also
    coverage_80); subset, series and points; and
    "per_series", a DataFrame (id, n, points, seasonal, scale, smape, mase, smape_naive2,
    mase_naive2[, msis, coverage]) to inspect the worst series. Every test point needs one
    finite forecast; forecasts for other points are ignored.
    """
    info = subset_info(subset)
    histories, test = _test_histories(train_long, test)
    reference = _forecast_all(histories, test, "naive2", info.season)
    return _score(histories, _join(test, forecasts), reference, info)


def baseline_table(train_long: pd.DataFrame, test: pd.DataFrame, subset: str) -> pd.DataFrame:
    """sMAPE, MASE and OWA of Naive, seasonal naive and Naive2 (rows in that order)."""
    info = subset_info(subset)
    histories, test = _test_histories(train_long, test)
    reference = _forecast_all(histories, test, "naive2", info.season)
    rows = []
    for method in BASELINES:
        fc = reference
        if method != "naive2":
            fc = _forecast_all(histories, test, method, info.season)
        scores = _score(histories, _join(test, fc), reference, info)
        rows.append({"method": method, **{k: scores[k] for k in ("smape", "mase", "owa")}})
    return pd.DataFrame(rows)
