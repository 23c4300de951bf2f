"""The Forecaster: tables in, forecasts with intervals and an honest evaluation out.

``Forecaster(...).fit(frame, target=...)`` scales each series on its training part, trains one
global recurrent model over all series (through :func:`rnnkit.training.fit`): the patch model
(default, :mod:`.patch_training`) or the classic one (``model="classic"``, :mod:`.training`),
and ``predict(steps)`` forecasts every series in one batched call of a single module
(:class:`~rnnkit.forecasting.patch.PatchModule` or
:class:`~rnnkit.forecasting.module.ForecastModule`). See docs/forecasting.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnnkit.config import configure
from rnnkit.data.io import SeriesData
from rnnkit.data.scaling import SeriesScaler
from rnnkit.errors import UserError
from rnnkit.forecasting.backtest import backtest
from rnnkit.forecasting.calendar import calendar_names
from rnnkit.forecasting.calibration import Calibration
from rnnkit.forecasting.config import ForecasterConfig, Shape, horizon_for_test
from rnnkit.forecasting.context import Context, build_context
from rnnkit.forecasting.covariates import (
    CovariateSpec,
    context_static,
    known_raw,
    read_covariates,
    require_patch,
)
from rnnkit.forecasting.evaluation import report
from rnnkit.forecasting.export import export_forecaster
from rnnkit.forecasting.fitted import Fitted, Holdout
from rnnkit.forecasting.frames import (
    Columns,
    as_frame,
    holdout_lengths,
    output_frame,
    prepare,
)
from rnnkit.forecasting.future import held_out_known, predict_known
from rnnkit.forecasting.inference import forecast_tensor, holdout_of
from rnnkit.forecasting.module import ForecastModule
from rnnkit.forecasting.patch import PatchModule
from rnnkit.forecasting.patch_training import fit_patch
from rnnkit.forecasting.persist import describe, restore
from rnnkit.forecasting.training import fit_classic
from rnnkit.models import resolve_device
from rnnkit.runs import load_model_files, load_weights_into, save_model
from rnnkit.training import History
from rnnkit.training.distributed import is_main_process

Data = pd.DataFrame | pd.Series
KIND = "forecaster"


class Forecaster:
    """A recurrent forecaster for one or many series, in the spirit of scikit-learn.

    Options are keyword-only and are the fields of :class:`ForecasterConfig` by their flat
    names, e.g. ``Forecaster(cell="gru", strategy="recursive", likelihood="quantile",
    epochs=50)``; or pass a whole ``config=ForecasterConfig(...)`` (options then override it).
    """

    def __init__(self, config: ForecasterConfig | None = None, **options: Any) -> None:
        self.config = configure(config or ForecasterConfig(), options, what="Forecaster option")
        self.config.check()
        self.columns: Columns | None = None
        self.freq: str | None = None
        self.shape: Shape | None = None
        self.scaler: SeriesScaler | None = None
        self.module: ForecastModule | PatchModule | None = None
        self.ids: list[str] = []
        self.history: History | None = None
        self.context: Context | None = None
        self.calibration: Calibration | None = None  # the intervals' widths (None: the head's)
        self.device = torch.device("cpu")

    # --- fitting --------------------------------------------------------------------------

    def fit(
        self,
        data: Data,
        *,
        target: str | None = None,
        covariates: list[str] | None = None,
        future_covariates: list[str] | None = None,
        static_covariates: list[str] | None = None,
        time_col: str | None = None,
        id_col: str | None = None,
        fill: str | None = None,
        freq: str | None = None,
        test_size: int | float | None = None,
        **checkpointing: Any,
    ) -> Forecaster:
        """Fit on ``data`` (all of it, or all but each series' last ``test_size`` points).

        A Series uses its index as time. ``covariates`` are past covariates: read as inputs
        and forecast alongside the target when forecasts are fed back, never needed ahead.
        ``future_covariates`` are known ahead (``predict`` takes their future values);
        ``static_covariates`` have one value per series (both: the patch model).
        ``checkpointing`` goes to :func:`rnnkit.training.fit`: ``run_dir``, ``resume``,
        ``checkpoint_every``, ``resume_hint``. The patch model without a ``horizon`` takes a
        whole-number ``test_size`` as its horizon (as ``rnnkit train --test-size`` does).
        """
        frame, columns = as_frame(data, target)
        columns = Columns(
            target=columns.target,
            time_col=time_col or columns.time_col,
            covariates=list(covariates or []),
            id_col=id_col,
            fill=fill,
            freq=freq,
            future_covariates=list(future_covariates or []),
            static_covariates=list(static_covariates or []),
        )
        series = prepare(frame, columns)
        lengths = np.diff(series.offsets)
        if test_size is not None:
            lengths = lengths - holdout_lengths(lengths, test_size)
            self.config = horizon_for_test(self.config, test_size)
        return self.fit_series(series, columns, lengths, frame=frame, **checkpointing)

    def fit_series(
        self,
        series: SeriesData,
        columns: Columns,
        lengths: np.ndarray,
        *,
        frame: pd.DataFrame | None = None,
        **checkpointing: Any,
    ) -> Forecaster:
        """Fit on the first ``lengths[i]`` rows of each series of prepared ``series``
        (``frame``, the table they came from, holds the static covariates)."""
        config = self.config
        require_patch(config.forecast.model, columns)
        self.columns, self.freq, self.ids = columns, series.freq, [str(i) for i in series.ids]
        self.device = resolve_device(config.device)
        patch = config.forecast.model == "patch"
        calendar = calendar_names(config.forecast.calendar, series.freq) if patch else []
        inputs = (read_covariates(frame, columns, series, calendar),) if patch else ()
        fit_model = fit_patch if patch else fit_classic
        self.module, self.shape, self.scaler, self.history, self.calibration = fit_model(
            series, lengths, config, self.device, *inputs, **checkpointing
        )
        if self.calibration is not None:
            self.calibration.to(self.device)
        self.context = self._build_context(series, lengths, frame)
        return self

    def observe(self, data: Data) -> Forecaster:
        """Make the end of ``data`` the starting point of later ``predict`` calls (no refit)."""
        self.context = self._context(data)
        return self

    # --- forecasting ----------------------------------------------------------------------

    def fitted(self) -> Fitted:
        """The fitted parts (module, columns, shape, scaler, context); an error before fit."""
        if self.module is None or self.columns is None or self.shape is None:
            raise UserError("this Forecaster is not fitted yet: call fit() or Forecaster.load()")
        assert self.scaler is not None and self.context is not None
        parts = (self.module, self.columns, self.shape, self.scaler, self.context)
        return Fitted(self.config, *parts, self.freq, self.ids, self.device, self.calibration)

    def _context(self, data: Data, ends: np.ndarray | None = None) -> Context:
        fitted = self.fitted()
        columns = fitted.columns
        frame, _ = as_frame(data, columns.target)
        series = prepare(frame, columns)
        ends = np.diff(series.offsets) if ends is None else ends
        return self._build_context(series, ends, frame)

    def covariate_spec(self) -> CovariateSpec:
        """The fitted model's covariates (none for the classic model)."""
        module = self.module
        return module.config.spec if isinstance(module, PatchModule) else CovariateSpec()

    def _build_context(
        self, series: SeriesData, ends: np.ndarray, frame: pd.DataFrame | None = None
    ) -> Context:
        assert self.shape is not None and self.scaler is not None and self.columns is not None
        spec, ids = self.covariate_spec(), [str(i) for i in series.ids]
        pad = isinstance(self.module, PatchModule)  # short histories are padded and masked
        known = known_raw(series, spec) if spec.known else None
        static = context_static(spec, ids, frame, self.columns.id_col)
        args = (series, ends, self.shape.window, self.scaler, self.ids, self.device)
        return build_context(*args, pad=pad, known_rows=known, static=static)

    def forecast_tensor(
        self, context: Context, rows: list[int], steps: int, future: np.ndarray | None = None
    ) -> np.ndarray:
        """Module output for the context rows: (series, steps, K), K = 1 or 5, in raw units;
        with a calibration, its 5 columns (lo_95, lo_80, forecast, hi_80, hi_95).
        ``future``: (rows, steps, C) raw known-future inputs over the steps (patch model)."""
        return forecast_tensor(self.fitted(), context, rows, steps, future)

    def predict(
        self,
        steps: int,
        data: Data | None = None,
        ids: list[str] | None = None,
        future: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Forecast ``steps`` steps after the end of ``data`` (default: the fitted data).
        ``future``: the known-future covariates over the steps (time, id and their columns).

        Returns a table indexed by future time with ``forecast`` (and ``lo_80``, ``hi_80``,
        ``lo_95``, ``hi_95`` for a probabilistic model); with several series, long format with
        the id column. ``ids`` restricts the forecast to those series.
        """
        fitted = self.fitted()
        columns, context = fitted.columns, fitted.context
        if not isinstance(steps, int | np.integer) or steps <= 0:
            raise UserError(f"steps must be a positive integer, got {steps}")
        if data is not None:
            context = self._context(data)
        rows = context.rows(ids)
        known = predict_known(self.covariate_spec(), future, fitted, context, rows, int(steps))
        out = self.forecast_tensor(context, rows, int(steps), known)
        lasts = [context.lasts[r] for r in rows]
        return output_frame(out, lasts, [context.ids[r] for r in rows], self.freq, columns)

    # --- evaluation -----------------------------------------------------------------------

    def holdout(self, data: Data, *, test_size: int | float = 0.2) -> Holdout:
        """Forecast each series' last ``test_size`` points from the rows before them."""
        columns = self.fitted().columns
        frame, _ = as_frame(data, columns.target)
        series = prepare(frame, columns)
        lengths = np.diff(series.offsets)
        n_test = holdout_lengths(lengths, test_size)
        return self.holdout_series(series, lengths - n_test, n_test)

    def holdout_series(self, series: SeriesData, ends: np.ndarray, n_test: np.ndarray) -> Holdout:
        """:meth:`holdout` on prepared series, cut at ``ends`` with ``n_test`` points each."""
        self.fitted()
        context = self._build_context(series, ends)
        steps, spec = int(np.max(n_test)), self.covariate_spec()
        known = held_out_known(series, spec, ends, steps) if spec.known else None
        out = self.forecast_tensor(context, list(range(len(series))), steps, known)
        return holdout_of(series, ends, n_test, out)

    def evaluate(self, data: Data, *, test_size: int | float = 0.2) -> dict[str, Any]:
        """Metrics of the model and the baselines on each series' last ``test_size`` points.

        Returns ``{"model": {...}, "naive": {...}, "seasonal_naive": {...}, "drift": {...}}``
        with mae, rmse, mase, smape, mape (and interval coverage for a probabilistic model).
        """
        result = self.holdout(data, test_size=test_size)
        assert self.shape is not None
        return report(result.histories, result.truths, result.forecasts, self.shape.season)

    def backtest(self, data: Data, **options: Any) -> Any:
        """Rolling-origin evaluation; see :func:`rnnkit.forecasting.backtest.backtest`."""
        return backtest(self, data, **options)

    # --- persistence ----------------------------------------------------------------------

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``model.safetensors`` + ``model.json`` into the folder ``path``."""
        fitted = self.fitted()
        folder = Path(path)
        if (folder / "model.json").exists() and not overwrite:
            raise UserError(f"'{folder}' already holds a model; pass overwrite=True")
        if is_main_process() and os.environ.get("RANK", "0") == "0":
            folder.mkdir(parents=True, exist_ok=True)
            save_model(folder, fitted.module, describe(fitted, KIND))
        return folder

    def export(
        self,
        path: str | Path,
        *,
        format: str = "onnx",
        steps: int | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write the forecaster as one ONNX or TorchScript graph; see :mod:`.export`."""
        return export_forecaster(
            self.fitted(), path, format=format, steps=steps, overwrite=overwrite
        )

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> Forecaster:
        """A fitted Forecaster from a folder written by :meth:`save` (or ``rnnkit train``).

        ``device`` defaults to the saved config's (``auto``: a GPU where there is one).
        """
        tensors, meta = load_model_files(path, kind=KIND)
        forecaster = restore(cls, meta, device)
        assert forecaster.module is not None
        load_weights_into(forecaster.module, tensors, Path(path) / "model.safetensors")
        return forecaster
