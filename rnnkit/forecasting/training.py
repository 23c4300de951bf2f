"""Training and validation windows for a forecaster, drawn across all series as views."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rnnkit.data.io import SeriesData, season_length
from rnnkit.data.scaling import SeriesScaler
from rnnkit.errors import UserError
from rnnkit.forecasting.calibration import Calibration
from rnnkit.forecasting.calibration_data import classic_calibration
from rnnkit.forecasting.config import ForecasterConfig, Shape, resolve
from rnnkit.forecasting.module import ForecastLoss, ForecastModule, NetworkConfig
from rnnkit.forecasting.windows import (
    SeriesWindows,
    split_validation,
    valid_starts,
    window_sets,
)
from rnnkit.training import History, fit
from rnnkit.training.seeding import seeded


def training_windows(
    series: SeriesData,
    lengths: np.ndarray,
    scaler: SeriesScaler,
    network: NetworkConfig,
    config: ForecasterConfig,
    device: torch.device,
) -> tuple[SeriesWindows, SeriesWindows | None]:
    """Every (window -> horizon) frame inside each series' first ``lengths[i]`` rows.

    The last ``config.forecast.val_fraction`` of each series' windows validate (early
    stopping); with ``val_fraction`` 0 there is no validation set.
    """
    frame = network.window + network.horizon
    starts = valid_starts(series.offsets, lengths, frame)  # (n_windows,) rows
    if len(starts) == 0:
        raise UserError(
            f"no series has window + horizon = {frame} training points; use a shorter "
            "--window/--horizon or a longer series"
        )
    owner = np.searchsorted(series.offsets, starts, side="right") - 1  # series of each start
    train_mask, val_mask = split_validation(starts, owner, config.forecast.val_fraction)
    windows = window_sets(
        series.values,
        starts,
        owner,
        scaler.loc,
        scaler.scale,
        window=network.window,
        horizon=network.horizon,
        device=device,
    )
    return windows(train_mask), (windows(val_mask) if val_mask.any() else None)


def fit_classic(
    series: SeriesData,
    lengths: np.ndarray,
    config: ForecasterConfig,
    device: torch.device,
    **checkpointing: Any,
) -> tuple[ForecastModule, Shape, SeriesScaler, History, Calibration | None]:
    """Train the classic model (a recurrent stack and a linear head) on every window, then
    calibrate its intervals (:mod:`.calibration_data`) unless ``calibration`` is "none"."""
    shape = resolve(config, season_length(series.freq), int(np.min(lengths)))
    scaler = SeriesScaler.fit(
        series.values, series.offsets, lengths, transform=config.forecast.transform
    )
    network = NetworkConfig(
        cell=config.model.cell,
        backend=config.model.backend,
        features=int(series.values.shape[1]),
        hidden_size=config.model.hidden_size,
        num_layers=config.model.num_layers,
        dropout=config.model.dropout,
        window=shape.window,
        horizon=shape.horizon,
        likelihood=config.forecast.likelihood,
        window_norm=config.forecast.window_norm,
        log=scaler.log.tolist(),
    )
    with seeded(config.train.seed):  # the same initial weights for the same seed
        module = ForecastModule(network).to(device)
    train, val = training_windows(series, lengths, scaler, network, config, device)
    history = fit(
        module.network,
        train,
        val,
        config.train_config(len(train)),
        loss_fn=ForecastLoss(network),
        device=device,
        desc="forecaster",
        **checkpointing,
    )
    calibration = None
    if config.forecast.calibration == "conformal":
        calibration = classic_calibration(
            module, series, lengths, scaler, config, device, val, shape.season
        )
    return module, shape, scaler, history, calibration
