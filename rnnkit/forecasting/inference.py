"""One batched call of a fitted forecaster's module: context rows in, raw forecasts out."""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.data.io import SeriesData
from rnnkit.forecasting.context import Context
from rnnkit.forecasting.export_graph import forecast_noise
from rnnkit.forecasting.fitted import Fitted, Holdout
from rnnkit.forecasting.future import covariate_inputs
from rnnkit.forecasting.patch import PatchModule


@torch.inference_mode()
def forecast_tensor(
    fitted: Fitted, context: Context, rows: list[int], steps: int, future: np.ndarray | None
) -> np.ndarray:
    """(rows, steps, K) raw forecasts, K = 1 or 5 (always 5 with a calibration), for the
    ``rows`` of ``context``.

    ``future`` (rows, steps, C): raw known-future inputs over the steps (patch model). A
    Gaussian model fed its own forecasts draws the seeded normals :func:`forecast_noise` draws
    for an export too, so both forecast alike. Rows go through in chunks (memory).
    """
    module, device = fitted.module, fitted.device
    module.eval()
    drawn = forecast_noise(fitted, steps)
    noise = None if drawn is None else drawn.to(device)
    chunk = max(1, 65536 // (fitted.config.forecast.samples if noise is not None else 16))
    index = torch.tensor(rows, device=device)
    inputs = [context.raw[index], context.loc[index], context.scale[index]]
    if isinstance(module, PatchModule):  # known-future and static covariates, or empty
        inputs += covariate_inputs(context, index, future, steps)
    parts = []
    for i in range(0, len(rows), chunk):
        part = [t[i : i + chunk] for t in inputs]
        out = module(*part[:3], steps, noise, *part[3:])
        if fitted.calibration is not None:  # the calibrated bounds (lo_95 .. hi_95)
            out = fitted.calibration(out, *part[:3], module.log)
        parts.append(out)
    out = parts[0] if len(parts) == 1 else torch.cat(parts)
    return out.cpu().numpy()  # (series, steps, K): the one transfer back


def holdout_of(
    series: SeriesData, ends: np.ndarray, n_test: np.ndarray, out: np.ndarray
) -> Holdout:
    """Each series' history before its cut ``ends[i]``, its ``n_test[i]`` held-out points
    and their forecasts (rows of ``out``, (series, steps, K))."""
    parts = [series.series(i)[:, 0] for i in range(len(series))]
    cuts = [(int(e), int(e) + int(n)) for e, n in zip(ends, n_test, strict=True)]
    return Holdout(
        ids=[str(i) for i in series.ids],
        histories=[p[:a] for p, (a, _) in zip(parts, cuts, strict=True)],
        truths=[p[a:b] for p, (a, b) in zip(parts, cuts, strict=True)],
        forecasts=[out[i, : b - a] for i, (a, b) in enumerate(cuts)],
        history_times=[t[:a] for t, (a, _) in zip(series.times, cuts, strict=True)],
        truth_times=[t[a:b] for t, (a, b) in zip(series.times, cuts, strict=True)],
    )
