"""Rolling-origin evaluation: cut every series at K successive origins, forecast, score.

Fold k of K cuts each series ``test_size + (K - 1 - k) * step`` points before its end, fits
on the rows before the cut (the scaler too, so no fold's scaling sees its own test part) and
forecasts the ``test_size`` points after it. With ``refit=False`` the model fitted at the first
cut-off serves every fold (it has seen even less data for the later ones).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from rnnkit.data.io import SeriesData, season_length
from rnnkit.errors import UserError
from rnnkit.forecasting.config import ForecasterConfig, Shape
from rnnkit.forecasting.evaluation import mean_report, per_series_table, report
from rnnkit.forecasting.fitted import Holdout
from rnnkit.forecasting.frames import Columns, as_frame, prepare


class Refittable(Protocol):
    """What a backtest needs of an estimator: its options, and fitting/holding out on series
    (the Forecaster is one; ``type(model)(**options)`` makes a fresh one per fold)."""

    config: ForecasterConfig
    columns: Columns | None
    shape: Shape | None

    def __init__(self, config: ForecasterConfig) -> None: ...

    def fit_series(
        self,
        series: SeriesData,
        columns: Columns,
        lengths: np.ndarray,
        *,
        frame: Any = None,
        **fitting: Any,
    ) -> Any: ...

    def holdout_series(
        self, series: SeriesData, ends: np.ndarray, n_test: np.ndarray
    ) -> Holdout: ...


@dataclass
class Fold:
    """One cut-off: when it is (first series), its scores and its forecasts."""

    cutoff: Any  # last training timestamp (or step) of the first series
    metrics: dict[str, Any]
    holdout: Holdout
    season: int = 1  # the season of its MASE and MSIS


@dataclass
class Backtest:
    """Every fold's scores and their mean (model and baselines)."""

    folds: list[Fold]
    mean: dict[str, Any]
    settings: dict[str, Any]  # folds, step, test_size, refit
    history_times: pd.Index  # the first series' full time axis and values, for the figure
    history: np.ndarray

    def per_series(self) -> pd.DataFrame:
        """Every fold's per-series scores (a ``fold`` column first), the worst MASE first."""
        tables = []
        for k, fold in enumerate(self.folds):
            held = fold.holdout
            table = per_series_table(
                held.ids, held.histories, held.truths, held.forecasts, fold.season
            )
            tables.append(table.assign(fold=k + 1))
        table = pd.concat(tables, ignore_index=True)
        table = table[["fold", *[c for c in table.columns if c != "fold"]]]
        return table.sort_values("mase", ascending=False, kind="stable")

    def to_dict(self) -> dict[str, Any]:
        folds = [
            {"fold": k + 1, "cutoff": str(f.cutoff), "test": f.metrics}
            for k, f in enumerate(self.folds)
        ]
        return {**self.settings, "folds": folds, "mean": self.mean}


def backtest(
    forecaster: Refittable,
    data: pd.DataFrame | pd.Series,
    *,
    columns: Columns | None = None,
    folds: int = 3,
    step: int | None = None,
    test_size: int | None = None,
    refit: bool = True,
    fold_callbacks: Callable[[int], Sequence[object]] | None = None,
) -> Backtest:
    """Score ``forecaster``'s configuration over ``folds`` cut-offs ``step`` points apart.

    ``columns`` defaults to the ones the forecaster was fitted on; ``test_size`` (points
    forecast per fold) to the configured horizon, else the season; ``step`` to ``test_size``.
    ``fold_callbacks(k)``: the training callbacks of fold ``k``'s fit (0-based; e.g. a
    TensorBoard logger per fold).
    """
    columns = columns or forecaster.columns
    if columns is None:
        raise UserError("backtest needs the columns: pass columns=Columns(target=...) or fit first")
    frame, _ = as_frame(data, columns.target)
    series = prepare(frame, columns)
    config = forecaster.config
    test = (
        test_size
        or config.forecast.horizon
        or config.forecast.season
        or season_length(series.freq)
        or 1
    )
    step = step or test
    if folds < 1 or test < 1 or step < 1:
        raise UserError("folds, step and test size must be positive integers")
    lengths = np.diff(series.offsets)
    n_test = np.full_like(lengths, test)
    results: list[Fold] = []
    model = forecaster
    for k in range(folds):
        ends = lengths - test - (folds - 1 - k) * step
        if (ends < 2).any():
            raise UserError(
                f"{folds} folds of {test} test points, {step} apart, need series longer than "
                f"{test + (folds - 1) * step + 1} points; use fewer --folds or a smaller --step"
            )
        if refit or k == 0:
            model = type(forecaster)(config=config)
            callbacks = fold_callbacks(k) if fold_callbacks is not None else ()
            model.fit_series(series, columns, ends, frame=frame, callbacks=callbacks)
        held = model.holdout_series(series, ends, n_test)
        assert model.shape is not None
        scores = report(held.histories, held.truths, held.forecasts, model.shape.season)
        results.append(Fold(held.history_times[0][-1], scores, held, model.shape.season))
    settings = {"folds": folds, "step": step, "test_size": test, "refit": refit}
    first = series.series(0)[:, 0]
    return Backtest(
        results, mean_report([f.metrics for f in results]), settings, series.times[0], first
    )
