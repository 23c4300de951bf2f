"""The graph an export holds: a Forecaster's ForecastModule with its inputs made explicit.

:class:`ForecastGraph` wraps the :class:`~rnnkit.forecasting.module.ForecastModule` (scaling,
network, multi-step loop, inverse scaling) for a fixed number of steps; :func:`exportable`
gives the module a recurrence that the exporters record as plain graph operations.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from rnnkit.forecasting.calibration import Calibration
from rnnkit.forecasting.frames import OUTPUT_COLUMNS
from rnnkit.forecasting.module import ForecastModule
from rnnkit.forecasting.patch import PatchModule, PatchNetwork
from rnnkit.models import CELLS, make_recurrent, resolve_backend
from rnnkit.nn._min_base import MinRecurrentBase

if TYPE_CHECKING:
    from rnnkit.forecasting.fitted import Fitted

# ForecastModule's K = 5 columns hold the QUANTILES (0.025, 0.1, 0.5, 0.9, 0.975)
MODULE_COLUMNS = ("lo_95", "lo_80", "forecast", "hi_80", "hi_95")


class ForecastGraph(nn.Module):
    """What an exported file computes: raw windows (+ loc/scale) -> the named raw forecasts.

    ``steps`` is fixed (the loop is unrolled when traced); the batch size is not. A
    ``calibration`` (:mod:`.calibration`) turns the output into the calibrated bounds. ``loc`` and
    ``scale`` (1, F) are the folded statistics of a one-series model, or None when they are
    inputs. ``noise`` holds the draws a Gaussian model feeds back, as ``Forecaster.predict``
    uses them.
    """

    def __init__(
        self,
        module: ForecastModule | PatchModule,
        steps: int,
        loc: Tensor | None,
        scale: Tensor | None,
        noise: Tensor | None,
        calibration: Calibration | None = None,
    ) -> None:
        super().__init__()
        self.module, self.steps, self.calibration = module, steps, calibration
        self.stats: Tensor | None
        folded = None if loc is None or scale is None else torch.cat([loc, scale])  # (2, F)
        self.register_buffer("stats", folded)
        self.register_buffer("noise", noise)
        names = output_names(module.config.likelihood, calibration is not None)
        self.columns = [0] if len(names) == 1 else [MODULE_COLUMNS.index(n) for n in names]

    def forward(self, window: Tensor, *stats: Tensor) -> tuple[Tensor, ...]:
        """(batch, window, F) raw [, loc, scale (batch, F)] -> each output (batch, steps)."""
        if stats:
            loc, scale = stats
        else:
            assert self.stats is not None
            loc = self.stats[0].expand(window.shape[0], -1)  # (batch, F)
            scale = self.stats[1].expand(window.shape[0], -1)
        out = self.module(window, loc, scale, self.steps, self.noise)  # (batch, steps, K)
        if self.calibration is not None:  # calibrated bounds: (batch, steps, 5)
            out = self.calibration(out, window, loc, scale, self.module.log)
        return tuple(out[..., k] for k in self.columns)


def output_names(likelihood: str | None, calibrated: bool = False) -> list[str]:
    """``forecast``, plus the 80%/95% interval bounds (a probabilistic or calibrated model)."""
    return list(OUTPUT_COLUMNS[:1] if likelihood is None and not calibrated else OUTPUT_COLUMNS)


def forecast_noise(fitted: Fitted, steps: int) -> Tensor | None:
    """The standard normals ``Forecaster.forecast_tensor`` draws, so both forecast alike."""
    module = fitted.module
    assert module is not None
    if module.config.likelihood != "gaussian" or module.blocks(steps) <= 1:
        return None
    size = (fitted.config.forecast.samples, module.blocks(steps) * module.config.horizon)
    generator = torch.Generator(fitted.device).manual_seed(fitted.config.train.seed)
    noise = torch.randn((*size, module.config.features), generator=generator, device=fitted.device)
    return noise.cpu()


def exportable(module: ForecastModule | PatchModule) -> ForecastModule | PatchModule:
    """A copy whose recurrences export as plain graph ops.

    rnnkit's RNN/LSTM/GRU hold torch.nn-identical parameters, so their weights go into the
    torch.nn twin (one fused ONNX RNN/LSTM/GRU node instead of a traced step loop). The
    min-RNNs switch to their sequential mode: the same recurrence without the log-space scan
    (ONNX has no logcumsumexp). The layer-norm cells are traced as they are. A patch model's
    members (inputs: hidden_size patch embeddings) are converted one by one.
    """
    module = copy.deepcopy(module)
    if isinstance(module, PatchModule):
        for member in module.members:
            assert isinstance(member, PatchNetwork)
            member.rnn = plain_recurrence(member.rnn, module.config, module.config.hidden_size)
    else:
        rnn = module.network.rnn
        module.network.rnn = plain_recurrence(rnn, module.config, module.config.features)
    return module.eval()


def plain_recurrence(rnn: nn.Module, config: Any, input_size: int) -> nn.Module:
    """The torch.nn twin of an rnnkit RNN/LSTM/GRU, or a min-RNN in sequential mode."""
    if resolve_backend(config.cell, config.backend) == "rnnkit" and "torch" in CELLS[config.cell]:
        twin = make_recurrent(
            config.cell,
            input_size,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
            backend="torch",
        )
        twin.load_state_dict(rnn.state_dict(), strict=True)
        return twin.eval()
    if isinstance(rnn, MinRecurrentBase):
        rnn.mode = "sequential"
    return rnn


def sample_inputs(
    windows: Tensor, locs: Tensor, scales: Tensor, batch: int, per_series: bool
) -> tuple[Tensor, ...]:
    """``batch`` distinct rows made from the context windows (series reused, scaled 1..1.05)."""
    rows = torch.arange(batch) % windows.shape[0]
    factor = 1.0 + 0.05 * torch.arange(batch, dtype=windows.dtype) / batch  # (batch,)
    window = windows[rows] * factor[:, None, None]  # (batch, window, F)
    return (window, locs[rows], scales[rows]) if per_series else (window,)
