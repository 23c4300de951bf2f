"""Out-of-sample forecasts at the end of the training part, for :mod:`.calibration`.

* Patch model, 32 series or more: its validation windows (the last H points of every training
  history; the training targets end before them), forecast by the final checkpoint ensemble.
  Fewer series: a proxy fitted without the last points forecasts them (:func:`proxy_calibration`),
  a second fit of the small data; its earlier origins also forecast a second horizon with the
  first fed back, which measures how the widths grow beyond the horizon.
* Classic model: with ``--val-fraction`` > 0, its validation windows (the last share of every
  series' windows). Without (the default), a second model with the same options and seed is
  trained on every series' windows but the last 20% (and the H - 1 windows before them, whose
  targets would overlap), and forecasts those: the model used for forecasting stays the one
  fitted on every window, so calibration never changes a point forecast. That costs a second
  fit (the classic model is small: about 4 s on AirPassengers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.io import SeriesData
from rnnkit.data.scaling import SeriesScaler
from rnnkit.errors import UserError
from rnnkit.forecasting.calibration import (
    Calibration,
    fit_calibration,
    measured_growth,
    to_target_unit,
    unit_truth,
    window_spread,
)
from rnnkit.forecasting.config import ForecasterConfig
from rnnkit.forecasting.module import ForecastLoss, ForecastModule
from rnnkit.forecasting.patch import PatchModule, combine
from rnnkit.forecasting.windows import (
    SeriesWindows,
    split_validation,
    valid_starts,
    window_sets,
)
from rnnkit.training import fit
from rnnkit.training.seeding import seeded

CHUNK = 4096  # windows per forward pass
CALIBRATION_WINDOWS = 36  # windows a patch proxy calibrates on, in all (few series)
MIN_FED_BACK = 8  # origins a proxy needs to measure the growth beyond the horizon
HELD_OUT = 0.2  # the classic model's calibration share of each series' windows


@torch.inference_mode()
def patch_calibration(module: PatchModule, val: tuple[Tensor, ...], lag: int) -> Calibration:
    """Calibrate on windows x, mask (N, W) and y (N, H), level-subtracted (then any further
    network inputs, as ``Packed.gather`` returns them). ``lag``: of the
    spread, the patch (the shortest season the model reads; M4 Weekly's MSIS with lag 1 / 4 /
    13 / 52: 19.4 / 16.7 / 18.7 / 36.8, docs/forecasting.md)."""
    module.eval()
    config, device = module.config, module.log.device
    x, mask, y, *inputs = val  # inputs: whatever else the networks read after (x, mask)
    spreads = window_spread(x, mask, lag).numpy()
    outs = []
    for i in range(0, x.shape[0], CHUNK):
        xi, mi = x[i : i + CHUNK].to(device), mask[i : i + CHUNK].to(device)
        more = [t[i : i + CHUNK].to(device) for t in inputs]
        out = torch.stack([net(xi, mi, *more) for net in module.members])  # (M, B, H[, K])
        out = combine(out, config.likelihood, config.outputs)
        outs.append(out.cpu())
    outputs = torch.cat(outs).numpy()
    return fit_calibration(config.likelihood, outputs, y.numpy(), spreads, lag, masked=True)


@torch.inference_mode()
def fed_back_errors(module: PatchModule, windows: tuple[Tensor, ...], lag: int) -> np.ndarray:
    """Absolute errors (N, 2H) of windows gathered with a 2H horizon, forecast over one horizon
    and then one more with the first forecasts fed back (the median for a probabilistic head),
    in units of each window's spread."""
    module.eval()
    device = module.log.device
    x, mask, y, known, static = (t.to(device) for t in windows)
    out = module.unit_forecast(x, mask, y.shape[1], known, static)  # (B, 2H, K)
    point = out[..., out.shape[-1] // 2]
    errors = (point - y).abs() / window_spread(x, mask, lag)[:, None]
    return errors.cpu().numpy()


@torch.inference_mode()
def classic_outputs(module: ForecastModule, windows: SeriesWindows, lag: int) -> Calibration:
    """Calibrate on raw windows: the module's forecasts and the truths, in unit space."""
    module.eval()
    horizon, outs, truths, spreads = module.config.horizon, [], [], []
    for positions in torch.arange(len(windows)).split(CHUNK):
        x, y, loc, scale = windows.batch(positions.to(windows.starts.device))
        out = module(x, loc, scale, horizon)  # (B, H, K) raw: one network call, no noise
        outs.append(to_target_unit(out, loc, scale, module.log).cpu())
        truths.append(unit_truth(y[..., 0], loc, scale, module.log).cpu())
        window = to_target_unit(x[..., :1], loc, scale, module.log)[..., 0]  # (B, W)
        spreads.append(window_spread(window, None, lag).cpu())
    out, truth, spread = (torch.cat(parts).numpy() for parts in (outs, truths, spreads))
    return fit_calibration(module.config.likelihood, out, truth, spread, lag, masked=False)


def held_out_split(
    series: SeriesData, lengths: np.ndarray, window: int, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start rows, series of each start, and (train, held-out) masks: per series the last
    :data:`HELD_OUT` of its windows, the training windows' targets ending before theirs."""
    starts = valid_starts(series.offsets, lengths, window + horizon)
    owner = np.searchsorted(series.offsets, starts, side="right") - 1
    train, held = split_validation(starts, owner, HELD_OUT)
    first_held = np.full(len(lengths), np.iinfo(np.int64).max)
    np.minimum.at(first_held, owner[held], starts[held])
    train &= starts <= first_held[owner] - horizon  # a gap: no target seen by both
    return starts, owner, np.stack([train, held])


def classic_calibration(
    module: ForecastModule,
    series: SeriesData,
    lengths: np.ndarray,
    scaler: SeriesScaler,
    config: ForecasterConfig,
    device: torch.device,
    val: SeriesWindows | None,
    lag: int,
) -> Calibration | None:
    """The classic model's calibration (None when no series has windows to spare)."""
    if val is not None:
        return classic_outputs(module, val, lag)
    network = module.config
    starts, owner, (train, held) = held_out_split(series, lengths, network.window, network.horizon)
    if not held.any() or not train.any():
        return None
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

    with seeded(config.train.seed):
        proxy = ForecastModule(network).to(device)
    part = windows(train)
    fit(
        proxy.network,
        part,
        None,
        config.train_config(len(part)),
        loss_fn=ForecastLoss(network),
        device=device,
        desc="calibration",
    )
    return classic_outputs(proxy, windows(held), lag)


def proxy_calibration(
    fit_patch: Callable[..., tuple[Any, ...]],
    packed_series: Callable[..., Any],
    series: SeriesData,
    lengths: np.ndarray,
    config: ForecasterConfig,
    device: torch.device,
    lay: Any,
    covariates: Any = None,
) -> Calibration | None:
    """The patch model with fewer than 32 series: calibrate on a proxy, the same options and
    seed fitted (``fit_patch``) on every history but its last ``horizon + k - 1`` points,
    forecasting those from k origins (:data:`CALIBRATION_WINDOWS` windows in all, at least
    the validation origins ``lay.k``). The fitted model chose its checkpoints on its own
    validation windows, so its errors there are optimistic, and with few series they are few.
    None with 32 series or more (their validation windows serve) or when no proxy trains."""
    if len(lengths) >= 32:
        return None
    proxy_config = dataclasses.replace(
        config, forecast=dataclasses.replace(config.forecast, calibration="none")
    )
    for k in dict.fromkeys((max(lay.k, -(-CALIBRATION_WINDOWS // len(lengths))), lay.k)):
        try:
            cut = lengths - (lay.horizon + k - 1)
            proxy, _, scaler, _, _ = fit_patch(series, cut, proxy_config, device, covariates)
        except UserError:  # the histories are too short to spare that many points
            continue
        c = proxy.config
        rows = np.repeat(np.arange(len(lengths)), k)
        origins = (lengths[:, None] - lay.horizon - np.arange(k)[None, :]).reshape(-1)
        keep = origins >= c.patch
        packed, _ = packed_series(series, lengths, scaler, covariates, cut)
        windows = packed.gather(rows[keep], origins[keep], c.window, c.horizon, c.patch)
        calibration = patch_calibration(proxy, windows, c.patch)
        # the origins a second horizon before the cut's end measure the growth beyond it
        twice = keep & (origins <= np.repeat(lengths, k) - 2 * c.horizon)
        if twice.sum() >= MIN_FED_BACK and calibration.method == "symmetric":
            wide = packed.gather(rows[twice], origins[twice], c.window, 2 * c.horizon, c.patch)
            calibration.growth = measured_growth(fed_back_errors(proxy, wide, c.patch))
        return calibration
    return None
