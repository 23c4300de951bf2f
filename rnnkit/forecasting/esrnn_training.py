"""Training the ES-RNN hybrid (:mod:`.esrnn`) through :func:`rnnkit.training.fit`.

The patch model's recipe throughout (:mod:`.patch_training`: layout, budget, sampled origins,
validation on the end of each training history, Plateau, the top-5 checkpoint ensemble, resume);
what differs is the window: the network's input length ``L`` from the layout, and a longer
smoothing window (the median training history, between ``L`` and 1000 steps) that the
exponential smoothing reads. Windows are *not* level-subtracted (the smoothing finds the level)
and carry their series' row, which indexes the per-series smoothing coefficients.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.data.io import SeriesData
from rnnkit.data.scaling import SeriesScaler
from rnnkit.forecasting.calibration import Calibration
from rnnkit.forecasting.calibration_data import patch_calibration
from rnnkit.forecasting.config import ForecasterConfig, Shape
from rnnkit.forecasting.esrnn import ESRNNConfig, ESRNNModule, ESRNNNetwork
from rnnkit.forecasting.module import pinball_score
from rnnkit.forecasting.patch import gaussian_score
from rnnkit.forecasting.patch_callbacks import fit_ensemble
from rnnkit.forecasting.patch_training import (
    FixedWindows,
    Packed,
    SampledWindows,
    budgeted,
    layout,
)
from rnnkit.forecasting.recipe import MAX_INPUT, frequency_key, patch_scaler
from rnnkit.training import History
from rnnkit.training.seeding import seeded


class SeriesWindows(Packed):
    """Packed series whose windows keep their level and say which series they come from."""

    def gather(
        self, series: np.ndarray, origins: np.ndarray, window: int, horizon: int, patch: int = 0
    ):
        """u, mask (B, window), series (B,) and y (B, horizon); pads repeat the first value
        (``patch`` is unused: no level is subtracted)."""
        pos = origins[:, None] - window + np.arange(window)[None, :]
        mask = (pos >= 0).astype(np.float32)
        u = self.z[self.offsets[series][:, None] + np.maximum(pos, 0)]
        ahead = self.offsets[series][:, None] + origins[:, None] + np.arange(horizon)[None, :]
        as_tensor = torch.from_numpy
        return (
            as_tensor(np.ascontiguousarray(u, np.float32)),
            as_tensor(mask),
            as_tensor(series.astype(np.int64)),
            as_tensor(np.ascontiguousarray(self.z[ahead], np.float32)),
        )


# cycles that are not a whole number of steps (52.18 weeks a year, 365.24 days): the network
# reads their seasonal naive, the smoothing does not model them (Smyl's weekly and daily
# models were non-seasonal)
NOT_SMOOTHED = {"W": (52,), "D": (365,)}


def smoothed_seasons(freq: str | None, season: int | None, usable: tuple[int, ...]) -> list[int]:
    """The usable seasons the exponential smoothing models (see :data:`NOT_SMOOTHED`)."""
    skip = NOT_SMOOTHED.get(frequency_key(freq, season) or "", ())
    return [m for m in usable if m not in skip]


def smoothing_window(net_window: int, patch: int, lengths: np.ndarray) -> int:
    """The median training history, at least the network's input and at most 1000 steps,
    rounded up to whole patches."""
    width = int(np.clip(np.median(lengths), net_window, max(net_window, MAX_INPUT)))
    return -(-width // patch) * patch


def _outputs(network: nn.Module, batch: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
    u, mask, series, y = batch
    return network(u, mask, series), y


def l1_loss(network: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    """Mean absolute error in the normalised space. With a partner network (patch+esrnn)
    each of the two is trained on its own error (the sum), and evaluated on their mean's."""
    if network.training and getattr(network, "partner", None) is not None:
        u, mask, series, y = batch
        own, other = network.both(u, mask, series)  # type: ignore[operator]
        return (own - y).abs().mean() + (other - y).abs().mean()
    out, y = _outputs(network, batch)
    return (out - y).abs().mean()


def pinball_loss(network: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    """Pinball loss of every quantile level."""
    return pinball_score(*_outputs(network, batch))


def gaussian_loss(network: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    """Gaussian negative log-likelihood (constant dropped)."""
    return gaussian_score(*_outputs(network, batch))


LOSSES = {None: l1_loss, "gaussian": gaussian_loss, "quantile": pinball_loss}


def fit_esrnn(
    series: SeriesData,
    lengths: np.ndarray,
    config: ForecasterConfig,
    device: torch.device,
    **checkpointing: Any,
) -> tuple[ESRNNModule, Shape, SeriesScaler, History, Calibration | None]:
    """Train the ES-RNN hybrid on the first ``lengths[i]`` rows of every series."""
    settings = config.forecast
    lengths = np.asarray(lengths, np.int64)
    lay = layout(series, lengths, config)
    horizon, k, highs, lows = lay.horizon, lay.k, lay.highs, lay.lows
    window = smoothing_window(lay.window, lay.patch, lengths)
    scaler = patch_scaler(series.values, series.offsets, lengths)
    owner = np.repeat(np.arange(len(lengths)), np.diff(series.offsets))
    g = np.log(np.maximum(series.values[:, 0], 1e-6)) if scaler.log[0] else series.values[:, 0]
    packed = SeriesWindows((g / scaler.scale[owner, 0]).astype(np.float32), series.offsets, lengths)
    n = len(lengths)
    v_series = np.repeat(np.arange(n), k)
    v_origin = (lengths[:, None] - horizon - np.arange(k)[None, :]).reshape(-1)
    keep = v_origin >= 1
    val = FixedWindows(packed.gather(v_series[keep], v_origin[keep], window, horizon))
    train_config, size = budgeted(config, lows, highs)
    train = SampledWindows(packed, lows, highs, size, (window, horizon), config.train.seed)
    model = config.model
    es_config = ESRNNConfig(
        cell=model.cell,
        backend=model.backend,
        hidden_size=model.hidden_size,
        num_layers=model.num_layers,
        dropout=model.dropout,
        window=window,
        net_window=lay.window,
        horizon=horizon,
        patch=lay.patch,
        seasons=smoothed_seasons(series.freq, settings.season, lay.usable),
        lags=list(lay.usable),
        series=n,
        log=[bool(scaler.log[0]), False],
        likelihood=settings.likelihood,
        partner=settings.model == "patch+esrnn",
    )
    with seeded(config.train.seed):
        network = ESRNNNetwork(es_config).to(device)
    loss_fn = LOSSES[settings.likelihood]
    kept, history = fit_ensemble(network, train, val, train_config, loss_fn, device, checkpointing)
    module = ESRNNModule(dataclasses.replace(es_config, members=len(kept))).to(device)
    for member, weights in zip(module.members, kept, strict=True):
        member.load_state_dict(weights)
    usable, seasons = lay.usable, lay.seasons
    season = settings.season or (usable[0] if usable else (seasons[0] if seasons else 1))
    calibration = None
    if settings.calibration != "none":  # on its own validation windows (no proxy fit)
        u, mask, rows, y = val.tensors
        calibration = patch_calibration(module, (u, mask, y, rows), lay.patch)  # type: ignore[arg-type]
    return (
        module,
        Shape(window=window, horizon=horizon, season=season),
        scaler,
        history,
        calibration,
    )
