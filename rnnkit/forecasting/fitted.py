"""What a fitted forecaster is made of, as plain data: the parts that forecasting, saving,
backtesting and export read (so that they need the parts, not the Forecaster class)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from rnnkit.data.scaling import SeriesScaler
from rnnkit.forecasting.calibration import Calibration
from rnnkit.forecasting.config import ForecasterConfig, Shape
from rnnkit.forecasting.context import Context
from rnnkit.forecasting.frames import Columns
from rnnkit.forecasting.module import ForecastModule
from rnnkit.forecasting.patch import PatchModule


@dataclass(frozen=True)
class Fitted:
    """A fitted forecaster's parts (``Forecaster.fitted()``)."""

    config: ForecasterConfig  # the options it was built with
    module: ForecastModule | PatchModule  # the trained network
    columns: Columns  # target, time, id and covariate columns it was fitted on
    shape: Shape  # window, horizon and season, resolved from the data
    scaler: SeriesScaler  # per-series scaling fitted on the training part
    context: Context  # the last window of every series: where forecasts start
    freq: str | None  # the time grid's frequency
    ids: list[str]  # the series, in order
    device: torch.device  # where the module runs
    calibration: Calibration | None = None  # calibrated interval widths (None: the head's)


@dataclass
class Holdout:
    """Each series' last points, forecast from the rows before them (for metrics and plots)."""

    ids: list[str]
    histories: list[np.ndarray]  # target values before the cut, per series
    truths: list[np.ndarray]  # the held-out target values, per series
    forecasts: list[np.ndarray]  # (steps_i, K) module outputs, per series
    history_times: list[pd.Index]
    truth_times: list[pd.Index]
