"""The forecasting network, the one module that holds all inference math, and the losses.

Three spaces appear below: *raw* values as in the file; *unit* values ``u = (g(x) - loc) /
scale`` (:mod:`rnnkit.data.scaling`, ``g`` = log for some features); and *window-relative*
values ``z = u - level`` where ``level`` is the window's last unit value (or its mean), so the
network sees every window at the same height whatever the series' level is then.

:class:`ForecastModule` maps a raw window straight to raw forecasts: unit scaling, the network,
the multi-step loop and the inverse scaling are plain tensor operations with the loop length an
int argument, so the module can be exported (ONNX/TorchScript) as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models import last_hidden, recurrent_from

LIKELIHOODS = (None, "gaussian", "quantile")
WINDOW_NORMS = ("last", "mean", "none")
# predicted quantile levels; the output columns are lo_95, lo_80, median, hi_80, hi_95
QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)
NORMAL_Z = (-1.959964, -1.281552, 0.0, 1.281552, 1.959964)  # standard normal at QUANTILES
MIN_SIGMA = 1e-3  # floor of the Gaussian scale (unit space), keeps the NLL finite


@dataclass
class NetworkConfig:
    """Everything needed to rebuild a :class:`ForecastModule` (saved in model.json)."""

    cell: str = "lstm"  # a name from rnnkit.models.CELLS
    backend: str = "auto"  # "auto" | "torch" | "rnnkit"
    features: int = 1  # target + covariates (taken from the data)
    hidden_size: int = 64  # units per recurrent layer
    num_layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # between recurrent layers
    window: int = 24  # past steps read per forecast
    horizon: int = 12  # steps emitted per network call (1 for the recursive strategy)
    likelihood: str | None = None  # None (point), "gaussian" or "quantile"
    window_norm: str = "last"  # subtract the window's "last" value, its "mean", or "none"
    log: list[bool] = field(default_factory=lambda: [False])  # per feature: log transform

    @property
    def params_per_value(self) -> int:
        """Network outputs per (step, feature): 1 point, 2 (mean, scale) or len(QUANTILES)."""
        return {None: 1, "gaussian": 2, "quantile": len(QUANTILES)}[self.likelihood]

    @property
    def outputs(self) -> int:
        """Columns of the forecast: 1 (point) or 5 (lo_95, lo_80, median, hi_80, hi_95)."""
        return 1 if self.likelihood is None else len(QUANTILES)


class ForecastNetwork(nn.Module):
    """Window-relative inputs -> the next ``horizon`` steps of every feature (their parameters).

    A recurrent stack read at its last step and one linear head. This is the part ``fit``
    trains; it knows nothing about scaling.
    """

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.rnn = recurrent_from(config, config.features)
        size = config.horizon * config.features * config.params_per_value
        self.head = nn.Linear(config.hidden_size, size)

    def forward(self, z: Tensor) -> Tensor:
        """(batch, window, features) -> (batch, horizon, features, params_per_value)."""
        _, state = self.rnn(z)
        out = self.head(last_hidden(state, 1))  # (batch, horizon * features * params)
        c = self.config
        return out.reshape(z.shape[0], c.horizon, c.features, c.params_per_value)


def to_unit(raw: Tensor, loc: Tensor, scale: Tensor, log: Tensor) -> Tensor:
    """Raw (batch, time, F) -> unit space, with per-row ``loc``/``scale`` (batch, F)."""
    g = torch.where(log, torch.log(torch.clamp(raw, min=1e-6)), raw)
    return (g - loc.unsqueeze(1)) / scale.unsqueeze(1)


def from_unit(u: Tensor, loc: Tensor, scale: Tensor, log: Tensor) -> Tensor:
    """Unit space (batch, steps, K) of the target (feature 0) -> raw; loc/scale (batch, F)."""
    g = u * scale[:, :1].unsqueeze(1) + loc[:, :1].unsqueeze(1)
    return torch.where(log[0], torch.exp(g), g)


def window_level(u: Tensor, mode: str) -> Tensor:
    """The level subtracted from a window (batch, time, F) -> (batch, 1, F)."""
    if mode == "last":
        return u[:, -1:]
    if mode == "mean":
        return u.mean(dim=1, keepdim=True)
    return torch.zeros_like(u[:, -1:])


def gaussian_sigma(raw_scale: Tensor) -> Tensor:
    return F.softplus(raw_scale) + MIN_SIGMA


def pinball_score(out: Tensor, y: Tensor) -> Tensor:
    """Mean pinball loss of quantile forecasts ``out`` (..., Q) at :data:`QUANTILES` for ``y``
    (...) (the median's term is half the absolute error)."""
    error = y.unsqueeze(-1) - out
    levels = torch.tensor(QUANTILES, device=error.device)
    return torch.maximum(levels * error, (levels - 1) * error).mean()


class ForecastLoss:
    """``loss_fn(network, batch)`` for :func:`rnnkit.training.fit` on raw ``(x, y, loc, scale)``.

    Scales both sides to unit space, subtracts the window level, and scores every feature of
    every step: MSE (point), Gaussian negative log-likelihood, or pinball loss (quantiles).
    """

    def __init__(self, config: NetworkConfig) -> None:
        self.config = config

    def __call__(self, network: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        x, y, loc, scale = batch  # (B, W, F), (B, H, F), (B, F), (B, F)
        log = torch.tensor(self.config.log, device=x.device)
        ux, uy = to_unit(x, loc, scale, log), to_unit(y, loc, scale, log)
        level = window_level(ux, self.config.window_norm)  # (B, 1, F)
        params = network(ux - level)  # (B, H, F, P)
        target = uy - level  # (B, H, F)
        if self.config.likelihood is None:
            return F.mse_loss(params[..., 0], target)
        if self.config.likelihood == "gaussian":
            sigma = gaussian_sigma(params[..., 1])
            return F.gaussian_nll_loss(params[..., 0], target, sigma * sigma, full=True)
        return pinball_score(params, target)  # (B, H, F, Q) against (B, H, F)


class ForecastModule(nn.Module):
    """Raw windows in, raw forecasts out: scaling, network, multi-step loop, inverse scaling.

    ``forward(raw, loc, scale, steps)`` calls the network ``ceil(steps / horizon)`` times,
    sliding the window over its own forecasts (one step at a time for the recursive strategy,
    ``horizon`` at a time for the direct one). A Gaussian model that must feed its forecasts
    back draws ``samples`` paths from the caller's ``noise`` and reads the quantiles off them.
    """

    log: Tensor  # (F,) bool buffer: features scaled on the log scale
    normal_z: Tensor  # (5,) buffer: standard normal quantiles of the output columns

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.network = ForecastNetwork(config)
        self.register_buffer("log", torch.tensor(config.log, dtype=torch.bool))
        self.register_buffer("normal_z", torch.tensor(NORMAL_Z))

    def blocks(self, steps: int) -> int:
        """Network calls needed for ``steps`` steps."""
        return -(-steps // self.config.horizon)

    def forward(
        self, raw: Tensor, loc: Tensor, scale: Tensor, steps: int, noise: Tensor | None = None
    ) -> Tensor:
        """(batch, window, F) raw, (batch, F) loc/scale -> (batch, steps, outputs) raw.

        ``noise`` (samples, blocks * horizon, F) standard normals, needed only by a Gaussian
        model whose ``steps`` exceed its horizon; other models ignore it.
        """
        u = to_unit(raw, loc, scale, self.log)  # (B, W, F)
        if self.config.likelihood == "gaussian" and self.blocks(steps) > 1:
            assert noise is not None, "a Gaussian multi-block forecast needs noise"
            out = self._sample_paths(u, steps, noise)
        else:
            out = self._unroll(u, steps)
        return from_unit(out, loc, scale, self.log)  # (B, steps, outputs)

    def _call(self, u: Tensor) -> Tensor:
        """One network call in unit space: (B, W, F) -> (B, H, F, P), level added back."""
        level = window_level(u, self.config.window_norm)  # (B, 1, F)
        params = self.network(u - level)
        loc = params[..., :1] if self.config.likelihood == "gaussian" else params
        shifted = loc + level.unsqueeze(-1)
        if self.config.likelihood == "gaussian":
            return torch.cat([shifted, params[..., 1:]], dim=-1)
        return shifted

    def _unroll(self, u: Tensor, steps: int) -> Tensor:
        """Point, quantile or one-block Gaussian forecasts: feed back the point/median."""
        h = self.config.horizon
        outputs = []
        for _ in range(self.blocks(steps)):
            params = self._call(u)  # (B, H, F, P)
            if self.config.likelihood == "quantile":
                params = torch.sort(params, dim=-1).values  # quantiles never cross
                point = params[..., len(QUANTILES) // 2]  # (B, H, F) median
            else:
                point = params[..., 0]
            outputs.append(self._columns(params))
            u = torch.cat([u[:, h:], point], dim=1)  # slide the window over the forecast
        return torch.cat(outputs, dim=1)[:, :steps]  # (B, steps, outputs)

    def _columns(self, params: Tensor) -> Tensor:
        """The target's output columns from one call's parameters: (B, H, F, P) -> (B, H, K)."""
        target = params[:, :, 0]  # (B, H, P)
        if self.config.likelihood == "gaussian":
            sigma = gaussian_sigma(target[..., 1:2])
            return target[..., :1] + sigma * self.normal_z  # (B, H, 5)
        return target

    def _sample_paths(self, u: Tensor, steps: int, noise: Tensor) -> Tensor:
        """Gaussian paths fed back on themselves; quantiles over paths: (B, steps, 5)."""
        batch, samples, h = u.shape[0], noise.shape[0], self.config.horizon
        paths = u.repeat_interleave(samples, dim=0)  # (B * S, W, F)
        eps = noise.repeat(batch, 1, 1)  # (B * S, blocks * H, F)
        drawn = []
        for k in range(self.blocks(steps)):
            params = self._call(paths)  # (B * S, H, F, 2)
            draw = params[..., 0] + gaussian_sigma(params[..., 1]) * eps[:, k * h : (k + 1) * h]
            drawn.append(draw[:, :, 0])
            paths = torch.cat([paths[:, h:], draw], dim=1)
        target = torch.cat(drawn, dim=1)[:, :steps].reshape(batch, samples, steps)
        ordered = torch.sort(target, dim=1).values  # (B, S, steps)
        # int(): under tracing (export) a size is a traced value; the sample count is fixed
        index = [round(q * (int(samples) - 1)) for q in QUANTILES]
        return ordered[:, index].transpose(1, 2)  # (B, steps, 5)
