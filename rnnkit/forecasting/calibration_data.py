"""Out-of-sample forecasts at the end of the training part, for :mod:`.calibration`.

* Patch model: its validation windows (the last H points of every training history; the
  training targets end before them), forecast by the final checkpoint ensemble.
* Classic model: with ``--val-fraction`` > 0, its validation windows (the last share of every
  series' windows). Without (the default), a second model with the same options and seed is
  trained on every series' windows but the last 20% (and the H - 1 windows before them, whose
  targets would overlap), and forecasts those: the model used for forecasting stays the one
  fitted on every window, so calibration never changes a point forecast. That costs a second
  fit (the classic model is small: about 4 s on AirPassengers).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.io import SeriesData
from rnnkit.data.scaling import SeriesScaler
from rnnkit.forecasting.calibration import (
    Calibration,
    fit_calibration,
    to_target_unit,
    unit_truth,
    window_spread,
)
from rnnkit.forecasting.config import ForecasterConfig
from rnnkit.forecasting.module import ForecastLoss, ForecastModule
from rnnkit.forecasting.patch import PatchModule, normal_quantiles
from rnnkit.forecasting.windows import SeriesWindows, split_validation, valid_starts
from rnnkit.training import fit
from rnnkit.training.seeding import seeded

CHUNK = 4096  # windows per forward pass
HELD_OUT = 0.2  # the classic model's calibration share of each series' windows


@torch.inference_mode()
def patch_calibration(module: PatchModule, val: tuple[Tensor, ...], lag: int) -> Calibration:
    """Calibrate on the validation windows: x, mask (N, W) and y (N, H), level-subtracted."""
    module.eval()
    config, device = module.config, module.log.device
    x, mask, y = val
    spreads = window_spread(x, mask, lag).numpy()
    outs = []
    for i in range(0, x.shape[0], CHUNK):
        xi, mi = x[i : i + CHUNK].to(device), mask[i : i + CHUNK].to(device)
        out = torch.stack([net(xi, mi) for net in module.members])  # (M, B, H[, K])
        out = normal_quantiles(out) if config.likelihood == "gaussian" else out.mean(0)
        out = torch.sort(out, dim=-1).values if config.outputs > 1 else out.unsqueeze(-1)
        outs.append(out.cpu())
    outputs = torch.cat(outs).numpy()
    return fit_calibration(config.likelihood, outputs, y.numpy(), spreads, lag, masked=True)


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
    values = torch.as_tensor(series.values, device=device)
    loc, scale = (
        torch.as_tensor(scaler.loc, device=device),
        torch.as_tensor(scaler.scale, device=device),
    )

    def windows(mask: np.ndarray) -> SeriesWindows:
        rows, sid = (
            torch.as_tensor(starts[mask], device=device),
            torch.as_tensor(owner[mask], device=device),
        )
        return SeriesWindows(
            values, rows, sid, loc, scale, window=network.window, horizon=network.horizon
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
