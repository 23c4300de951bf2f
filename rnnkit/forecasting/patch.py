"""The patch model: a recurrent network over patches of the input, residual on seasonal naive.

The input window (``window`` steps, whole patches of ``patch`` steps) is read one patch per
recurrent step: each patch's values and its 0/1 padding mask go through one linear layer, the
recurrent stack (any cell of :func:`rnnkit.models.recurrent_from`) reads the patches, and an MLP
on [last state, seasonal-naive forecast of every season minus the base] emits all ``horizon``
steps at once. The MLP's output layer starts at zero, so an untrained network forecasts its
base: the seasonal naive of the shortest season when the patch is that season, else the level.

Values are in *normalised* space: log (or / mean |y|) of the series, minus the window's level
(the mean of its last patch). :class:`PatchModule` holds an ensemble of such networks (the
best checkpoints of one fit) and maps raw windows to raw forecasts like ``ForecastModule``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from rnnkit.forecasting.module import NORMAL_Z, QUANTILES, from_unit, gaussian_sigma, to_unit
from rnnkit.models import last_hidden, recurrent_from


@dataclass
class PatchConfig:
    """Everything needed to rebuild a :class:`PatchModule` (saved in model.json)."""

    model: str = "patch"
    cell: str = "lstm"
    backend: str = "auto"
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    window: int = 48  # input steps, a multiple of patch
    horizon: int = 12
    patch: int = 12
    seasons: list[int] = field(default_factory=list)  # usable seasons, shortest first
    members: int = 1  # networks averaged (the checkpoint ensemble)
    features: int = 2  # the target and its padding mask (the context's columns)
    log: list[bool] = field(default_factory=lambda: [True, False])
    # None (point), "gaussian" (mean, scale; NLL) or "quantile" (QUANTILES, pinball loss)
    likelihood: str | None = None

    @property
    def outputs(self) -> int:
        """Values per step: 1, 2 (mean, raw scale) or one per quantile level."""
        return {None: 1, "gaussian": 2}.get(self.likelihood, len(QUANTILES))

    @property
    def lags(self) -> list[int]:
        return [m for m in self.seasons if m <= self.window]

    @property
    def base_season(self) -> int:
        """The season whose naive forecast is the base (0: the level)."""
        lags = self.lags
        return lags[0] if lags and lags[0] == self.patch else 0


def naive_index(window: int, horizon: int, season: int) -> Tensor:
    """Input positions whose values the seasonal naive forecast repeats."""
    return torch.tensor([window - season + (h % season) for h in range(horizon)])


class PatchNetwork(nn.Module):
    """(x, mask) (batch, window) normalised -> (batch, horizon) normalised forecasts."""

    def __init__(self, config: PatchConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.inp = nn.Linear(2 * c.patch, c.hidden_size)
        self.rnn = recurrent_from(c, c.hidden_size)
        for m in c.lags:
            self.register_buffer(f"lag{m}", naive_index(c.window, c.horizon, m), persistent=False)
        width = c.hidden_size + len(c.lags) * c.horizon
        self.head = nn.Sequential(
            nn.Linear(width, c.hidden_size),
            nn.ReLU(),
            nn.Linear(c.hidden_size, c.horizon * c.outputs),
        )
        last = self.head[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def naive(self, x: Tensor, season: int) -> Tensor:
        return x[:, getattr(self, f"lag{season}")]

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, H) point forecasts, or (B, H, quantiles), or (B, H, [mean, raw scale])."""
        c, batch = self.config, x.shape[0]
        patches = torch.cat(
            [x.reshape(batch, -1, c.patch), mask.reshape(batch, -1, c.patch)], dim=-1
        )
        _, state = self.rnn(torch.relu(self.inp(patches)))
        # no base season: the level (0); as wide as the horizon even when the window is shorter
        zero = torch.zeros_like(x[:, :1]).repeat(1, c.horizon)
        base = self.naive(x, c.base_season) if c.base_season else zero
        features = [last_hidden(state, 1)] + [self.naive(x, m) - base for m in c.lags]
        out = self.head(torch.cat(features, dim=-1))
        if c.outputs == 1:
            return base + out
        out = out.reshape(batch, c.horizon, c.outputs)
        if c.likelihood == "gaussian":  # the base shifts the mean, not the scale
            return torch.stack([base + out[..., 0], out[..., 1]], dim=-1)
        return base.unsqueeze(-1) + out


def normal_quantiles(params: Tensor) -> Tensor:
    """Members' (M, B, H, [mean, raw scale]) -> (B, H, QUANTILES) of their equal mixture's
    moment-matched normal (mean of means; variance = mean of sigma^2 + mu^2 - mean^2)."""
    mu, sigma = params[..., 0], gaussian_sigma(params[..., 1])
    mean = mu.mean(0)
    std = ((sigma**2 + mu**2).mean(0) - mean**2).clamp_min(0).sqrt()
    z = torch.tensor(NORMAL_Z, dtype=mean.dtype, device=mean.device)
    return mean.unsqueeze(-1) + std.unsqueeze(-1) * z


def window_level(u: Tensor, patch: int) -> Tensor:
    """The level subtracted from a window (batch, window): the mean of its last patch."""
    return u[:, -patch:].mean(dim=1, keepdim=True)


class PatchModule(nn.Module):
    """Raw (value, mask) windows in, raw forecasts out: the mean of the ensemble's members.

    ``forward(raw, loc, scale, steps)``: raw (batch, window, 2), loc/scale (batch, 2) ->
    (batch, steps, 1 or 5 quantiles; Gaussian: normal quantiles); more steps than the horizon
    slide the window over its own forecasts (the median).
    """

    log: Tensor

    def __init__(self, config: PatchConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(PatchNetwork(config) for _ in range(config.members))
        self.register_buffer("log", torch.tensor(config.log, dtype=torch.bool))

    def blocks(self, steps: int) -> int:
        return -(-steps // self.config.horizon)

    def forward(
        self, raw: Tensor, loc: Tensor, scale: Tensor, steps: int, noise: Tensor | None = None
    ) -> Tensor:
        c = self.config
        mask = raw[..., 1]
        u = to_unit(raw, loc, scale, self.log)[..., 0]  # (B, W)
        outputs = []
        for _ in range(self.blocks(steps)):
            level = window_level(u, c.patch)
            x = u - level
            out = torch.stack([net(x, mask) for net in self.members])  # (M, B, H[, K])
            out = normal_quantiles(out) if c.likelihood == "gaussian" else out.mean(0)
            if c.outputs > 1:  # quantiles never cross; the median is fed back
                out = torch.sort(out, dim=-1).values + level.unsqueeze(-1)
                outputs.append(out)
                out = out[..., len(QUANTILES) // 2]
            else:
                out = out + level
                outputs.append(out.unsqueeze(-1))
            u = torch.cat([u[:, c.horizon :], out], dim=1)[:, -c.window :]
            mask = torch.cat([mask[:, c.horizon :], torch.ones_like(out)], dim=1)[:, -c.window :]
        forecast = torch.cat(outputs, dim=1)[:, :steps]  # (B, steps, 1 or 5)
        return from_unit(forecast, loc, scale, self.log)
