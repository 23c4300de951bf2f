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
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.forecasting.covariates import CovariateSpec
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
    # known-future and static covariates (names, scaling, categories): covariates.CovariateSpec
    covariates: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> CovariateSpec:
        return CovariateSpec(**self.covariates)

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


def embedding_size(levels: int) -> int:
    """Width of a categorical static covariate's embedding (its categories + unknown)."""
    return min(8, (levels + 2) // 2)


class PatchNetwork(nn.Module):
    """(x, mask) (batch, window) normalised -> (batch, horizon) normalised forecasts.

    With covariates: ``known`` (batch, window + horizon, C) scaled known-future inputs (each
    patch reads its rows; the head reads the horizon's) and ``static`` (batch, S) scaled
    numbers or category indices (the head reads them, categories through embeddings).
    """

    source: Tensor  # (horizon,) the input row each step's base copies (known-future MLP)

    def __init__(self, config: PatchConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        spec = c.spec
        self.known = len(spec.known)
        self.inp = nn.Linear((2 + self.known) * c.patch, c.hidden_size)
        self.rnn = recurrent_from(c, c.hidden_size)
        for m in c.lags:
            self.register_buffer(f"lag{m}", naive_index(c.window, c.horizon, m), persistent=False)
        self.numeric = [j for j, levels in enumerate(spec.static_levels) if not levels]
        self.categorical = [j for j, levels in enumerate(spec.static_levels) if levels]
        sizes = [len(spec.static_levels[j]) for j in self.categorical]
        self.embeddings = nn.ModuleList(nn.Embedding(n + 1, embedding_size(n)) for n in sizes)
        statics = len(self.numeric) + sum(embedding_size(n) for n in sizes)
        width = c.hidden_size + len(c.lags) * c.horizon + self.known * c.horizon + statics
        self.head = nn.Sequential(
            nn.Linear(width, c.hidden_size),
            nn.ReLU(),
            nn.Linear(c.hidden_size, c.horizon * c.outputs),
        )
        zeroed = [self.head[-1]]
        if self.known:
            # one small MLP shared by every horizon step reads that step's known values, those
            # of the step its base copies, and the state (H x the examples a per-step weight in
            # the head gets); zero-initialised like the head
            self.step = nn.Sequential(
                nn.Linear(2 * self.known + c.hidden_size, c.hidden_size),
                nn.ReLU(),
                nn.Linear(c.hidden_size, c.outputs),
            )
            zeroed.append(self.step[-1])
            base, window = c.base_season, c.window
            source = (
                naive_index(window, c.horizon, base)
                if base
                else torch.full((c.horizon,), window - 1)
            )
            self.register_buffer("source", source, persistent=False)
        for layer in zeroed:
            assert isinstance(layer, nn.Linear)
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def naive(self, x: Tensor, season: int) -> Tensor:
        return x[:, getattr(self, f"lag{season}")]

    def forward(
        self, x: Tensor, mask: Tensor, known: Tensor | None = None, static: Tensor | None = None
    ) -> Tensor:
        """(B, H) point forecasts, or (B, H, quantiles), or (B, H, [mean, raw scale])."""
        c, batch = self.config, x.shape[0]
        parts = [x.reshape(batch, -1, c.patch), mask.reshape(batch, -1, c.patch)]
        if self.known:
            assert known is not None
            past = known[:, : c.window].reshape(batch, -1, c.patch * self.known)  # (B, P, p*C)
            parts.append(past)
        _, state = self.rnn(torch.relu(self.inp(torch.cat(parts, dim=-1))))
        # no base season: the level (0); as wide as the horizon even when the window is shorter
        zero = torch.zeros_like(x[:, :1]).repeat(1, c.horizon)
        base = self.naive(x, c.base_season) if c.base_season else zero
        hidden = last_hidden(state, 1)  # (B, hidden)
        features = [hidden] + [self.naive(x, m) - base for m in c.lags]
        step = None
        if self.known:
            assert known is not None
            ahead = known[:, c.window :]  # (B, H, C)
            features.append(ahead.reshape(batch, -1))  # (B, H * C)
            each = [ahead, known[:, self.source], hidden.unsqueeze(1).expand(-1, c.horizon, -1)]
            step = self.step(torch.cat(each, dim=-1))  # (B, H, outputs)
        if self.numeric or self.categorical:
            assert static is not None
            if self.numeric:
                features.append(static[:, self.numeric])
            for j, embedding in zip(self.categorical, self.embeddings, strict=True):
                features.append(embedding(static[:, j].long()))
        out = self.head(torch.cat(features, dim=-1)).reshape(batch, c.horizon, c.outputs)
        if step is not None:
            out = out + step
        if c.outputs == 1:
            return base + out[..., 0]
        if c.likelihood == "gaussian":  # the base shifts the mean, not the scale
            return torch.stack([base + out[..., 0], out[..., 1]], dim=-1)
        return base.unsqueeze(-1) + out


def gaussian_score(out: Tensor, y: Tensor) -> Tensor:
    """Gaussian negative log-likelihood (constant dropped) of ``out`` (..., [mean, raw scale])."""
    sigma = gaussian_sigma(out[..., 1])
    return (torch.log(sigma) + 0.5 * ((y - out[..., 0]) / sigma) ** 2).mean()


def combine(out: Tensor, likelihood: str | None, outputs: int) -> Tensor:
    """Members' (M, B, H[, K]) outputs -> the ensemble's (B, H, K): their mean (K = 1 for a
    point model), or sorted quantiles (a Gaussian ensemble: its moment-matched normal's), so
    that quantiles never cross."""
    out = normal_quantiles(out) if likelihood == "gaussian" else out.mean(0)
    return torch.sort(out, dim=-1).values if outputs > 1 else out.unsqueeze(-1)


def feed_back(u: Tensor, mask: Tensor, out: Tensor, window: int) -> tuple[Tensor, Tensor]:
    """The window (B, window) and its mask moved on over forecasts ``out`` (B, H, K): the
    point forecast or the median is read as if observed."""
    value = out[..., len(QUANTILES) // 2] if out.shape[-1] > 1 else out[..., 0]
    u = torch.cat([u, value], dim=1)[:, -window:]
    return u, torch.cat([mask, torch.ones_like(value)], dim=1)[:, -window:]


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

    ``forward(raw, loc, scale, steps, noise, known, static)``: raw (batch, window, 2),
    loc/scale (batch, 2) -> (batch, steps, 1 or 5 quantiles; Gaussian: normal quantiles); more
    steps than the horizon slide the window over its own forecasts (the median). A model with
    covariates also takes ``known`` (batch, window + steps, C) raw known-future inputs and
    ``static`` (batch, S) raw static covariates (category indices), scaled here.
    """

    log: Tensor
    known_loc: Tensor
    known_scale: Tensor
    static_loc: Tensor
    static_scale: Tensor

    def __init__(self, config: PatchConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(PatchNetwork(config) for _ in range(config.members))
        self.register_buffer("log", torch.tensor(config.log, dtype=torch.bool))
        spec = config.spec
        for name in ("known_loc", "known_scale", "static_loc", "static_scale"):
            values = torch.tensor(getattr(spec, name), dtype=torch.float32)
            self.register_buffer(name, values, persistent=False)

    def blocks(self, steps: int) -> int:
        return -(-steps // self.config.horizon)

    def forward(
        self,
        raw: Tensor,
        loc: Tensor,
        scale: Tensor,
        steps: int,
        noise: Tensor | None = None,
        known: Tensor | None = None,
        static: Tensor | None = None,
    ) -> Tensor:
        c = self.config
        mask = raw[..., 1]
        u = to_unit(raw, loc, scale, self.log)[..., 0]  # (B, W)
        blocks = self.blocks(steps)
        if known is not None and known.shape[-1] > 0:
            known = (known - self.known_loc) / self.known_scale  # (B, W + steps, C)
            short = c.window + blocks * c.horizon - known.shape[1]
            if short > 0:  # the last block's steps beyond ``steps`` are dropped: any value
                known = torch.cat([known, known[:, -1:].expand(-1, short, -1)], dim=1)
        else:
            known = None
        if static is not None and static.shape[-1] > 0:
            static = (static - self.static_loc) / self.static_scale  # (B, S)
        forecast = self.unit_forecast(u, mask, steps, known, static)  # (B, steps, 1 or 5)
        return from_unit(forecast, loc, scale, self.log)

    def unit_forecast(
        self, u: Tensor, mask: Tensor, steps: int, known: Tensor | None, static: Tensor | None
    ) -> Tensor:
        """Windows u, mask (B, W) in the normalised space -> (B, steps, K) there: one horizon
        per network call, each block's forecasts fed back; ``known``, ``static`` scaled."""
        c, outputs = self.config, []
        for b in range(self.blocks(steps)):
            level = window_level(u, c.patch)
            start = b * c.horizon  # this block's window + horizon rows of ``known``
            part = None if known is None else known[:, start : start + c.window + c.horizon]
            out = torch.stack([net(u - level, mask, part, static) for net in self.members])
            out = combine(out, c.likelihood, c.outputs) + level.unsqueeze(-1)  # (B, H, K)
            outputs.append(out)
            u, mask = feed_back(u, mask, out, c.window)
        return torch.cat(outputs, dim=1)[:, :steps]
