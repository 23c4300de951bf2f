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
    from rnnkit.forecasting.context import Context
    from rnnkit.forecasting.fitted import Fitted

# ForecastModule's K = 5 columns hold the QUANTILES (0.025, 0.1, 0.5, 0.9, 0.975)
MODULE_COLUMNS = ("lo_95", "lo_80", "forecast", "hi_80", "hi_95")


class ForecastGraph(nn.Module):
    """What an exported file computes: raw windows (+ loc/scale) -> the named raw forecasts.

    ``steps`` is fixed (the loop is unrolled when traced); the batch size is not. A
    ``calibration`` (:mod:`.calibration`) turns the output into the calibrated bounds. ``loc`` and
    ``scale`` (1, F) are the folded statistics of a one-series model, or None when they are
    inputs. ``noise`` holds the draws a Gaussian model feeds back, as ``Forecaster.predict``
    uses them. A patch model with covariates takes ``known`` (batch, window + steps, C) and
    ``static`` (batch, S) raw inputs after the window (and loc/scale).
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
        self.extra = covariate_names(module)

    def forward(self, window: Tensor, *inputs: Tensor) -> tuple[Tensor, ...]:
        """(batch, window, F) raw [, loc, scale (batch, F)] [, known, static] -> each output
        (batch, steps)."""
        if self.stats is None:
            loc, scale = inputs[0], inputs[1]
            inputs = inputs[2:]
        else:
            loc = self.stats[0].expand(window.shape[0], -1)  # (batch, F)
            scale = self.stats[1].expand(window.shape[0], -1)
        if self.extra:  # the patch model's known-future and static covariates
            given = dict(zip(self.extra, inputs, strict=True))
            known, static = given.get("known"), given.get("static")
            out = self.module(window, loc, scale, self.steps, self.noise, known, static)
        else:
            out = self.module(window, loc, scale, self.steps, self.noise)  # (batch, steps, K)
        if self.calibration is not None:  # calibrated bounds: (batch, steps, 5)
            out = self.calibration(out, window, loc, scale, self.module.log)
        return tuple(out[..., k] for k in self.columns)


def covariate_names(module: ForecastModule | PatchModule) -> list[str]:
    """The covariate inputs of ``module``'s graph: "known" and/or "static" (patch model)."""
    if not isinstance(module, PatchModule):
        return []
    spec = module.config.spec
    return [name for name, there in (("known", spec.known), ("static", spec.static)) if there]


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
    context: Context, batch: int, per_series: bool, steps: int, extra: list[str]
) -> tuple[Tensor, ...]:
    """``batch`` distinct rows made from the context windows (series reused, scaled 1..1.05);
    known-future inputs over the steps repeat the window's, static ones are the series'."""
    windows, locs, scales = context.raw.cpu(), context.loc.cpu(), context.scale.cpu()
    rows = torch.arange(batch) % windows.shape[0]
    factor = 1.0 + 0.05 * torch.arange(batch, dtype=windows.dtype) / batch  # (batch,)
    window = windows[rows] * factor[:, None, None]  # (batch, window, F)
    out = [window, locs[rows], scales[rows]] if per_series else [window]
    if "known" in extra:
        assert context.known is not None
        known = context.known.cpu()[rows]  # (batch, window, C)
        ahead = known[:, torch.arange(steps) % known.shape[1]]  # (batch, steps, C)
        out.append(torch.cat([known, ahead], dim=1))
    if "static" in extra:
        assert context.static is not None
        out.append(context.static.cpu()[rows])
    return tuple(out)


def tensor_spec(name: str, shape: list[Any], meaning: str) -> dict[str, Any]:
    return {"name": name, "shape": shape, "dtype": "float32", "meaning": meaning}


def covariate_specs(module: ForecastModule | PatchModule, window: int, steps: int) -> list:
    """The metadata of the covariate inputs, naming their columns in order."""
    if not isinstance(module, PatchModule):
        return []
    spec, out = module.config.spec, []
    if spec.known:
        meaning = (
            f"known-future inputs, raw, over the window then the {steps} forecast steps: "
            f"{', '.join(spec.known)} (calendar: features of each row's timestamp)"
        )
        known = tensor_spec("known", ["batch", window + steps, len(spec.known)], meaning)
        out.append({**known, "columns": list(spec.known)})
    if spec.static:
        levels = "; ".join(
            f"{n}: index in {lv} ({len(lv)}: unknown)" if lv else f"{n}: raw number"
            for n, lv in zip(spec.static, spec.static_levels, strict=True)
        )
        static = tensor_spec("static", ["batch", len(spec.static)], f"static: {levels}")
        out.append({**static, "columns": list(spec.static), "categories": spec.static_levels})
    return out
