"""The ES-RNN-style hybrid (after Smyl 2020, the M4 winner): exponential smoothing around a
recurrent network.

Per series, learned smoothing coefficients (a level ``alpha`` and one ``gamma`` per season,
embeddings indexed by the series) run over a long window of the *normalised* series (log where
every training value is positive, so level and seasonality are multiplicative; else divided by
the mean |y|, additive):

* **seasonality**, one profile per smoothed season, shortest first (hourly: 24 then 168,
  Smyl's double seasonality): every whole cycle of the window, minus its trend, is smoothed
  into the profile with weight ``gamma`` (the last cycle counts most), starting from the mean
  profile of all the window's cycles; the window is long (the median history, up to 1000
  steps), so the start is the seasonality of the whole series. Cycles touching the padding are
  skipped.
* **level**: an exponentially weighted mean (``alpha``) of the deseasonalised window.

The patch network of :mod:`.patch` (lag features of every usable season, output zero at the
start) reads the last ``net_window`` steps of the deseasonalised window minus the level and
emits the deseasonalised future minus the level: forecast = level + seasonality + network (log
space: level x seasonality x network). Everything is one graph, trained jointly by the L1 loss.

Both smoothings are closed forms (weights ``alpha (1 - alpha)^age``), so a batch costs a few
tensor operations, not a loop over time. A series the model was not fitted on (index -1) uses
the mean of the learned coefficients.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from rnnkit.errors import UserError
from rnnkit.forecasting.module import QUANTILES, from_unit, to_unit
from rnnkit.forecasting.patch import PatchConfig, PatchNetwork, combine, feed_back

ALPHA0, GAMMA0 = 0.3, 0.1  # initial level and seasonality smoothing (Smyl starts near these)


@dataclass
class ESRNNConfig:
    """Everything needed to rebuild an :class:`ESRNNModule` (saved in model.json)."""

    model: str = "esrnn"
    cell: str = "lstm"
    backend: str = "auto"
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    window: int = 96  # the smoothing window (the context's length)
    net_window: int = 48  # the network's input: the window's last steps, a multiple of patch
    horizon: int = 12
    patch: int = 12
    seasons: list[int] = field(default_factory=list)  # smoothed seasons, shortest first
    lags: list[int] = field(default_factory=list)  # seasons whose naive forecast the net reads
    series: int = 1  # per-series coefficient rows (the fitted series, in order)
    members: int = 1  # networks averaged (the checkpoint ensemble)
    features: int = 2  # the target and its padding mask (the context's columns)
    log: list[bool] = field(default_factory=lambda: [True, False])
    likelihood: str | None = None  # None, "gaussian" or "quantile", as the patch model
    # --model patch+esrnn: a plain patch network trained alongside on its own loss (disjoint
    # parameters, same batches); the forecast is the mean of the two (point forecasts only)
    partner: bool = False

    @property
    def outputs(self) -> int:
        return {None: 1, "gaussian": 2}.get(self.likelihood, len(QUANTILES))

    def check(self) -> None:
        """A UserError when the sizes cannot build the module (a hand-edited model.json)."""
        sizes = ("window", "net_window", "horizon", "patch", "series", "members", "hidden_size")
        lists = (self.seasons, self.lags)

        def whole(value: object) -> bool:
            return isinstance(value, int) and not isinstance(value, bool) and value > 0

        if (
            not all(whole(getattr(self, name)) for name in sizes)
            or not all(isinstance(x, list) and all(whole(m) for m in x) for x in lists)
            or self.net_window > self.window
            or self.net_window % self.patch
        ):
            raise UserError("the saved esrnn network description is malformed")

    def network(self) -> PatchConfig:
        """The inner patch network: the deseasonalised window's last ``net_window`` steps,
        with the seasonal naive of every lag season (the base: the patch's own season's)."""
        names = {f.name for f in dataclasses.fields(PatchConfig)}
        names -= {"model", "window", "seasons", "covariates"}
        shared = {name: getattr(self, name) for name in names if name != "members"}
        return PatchConfig(window=self.net_window, seasons=list(self.lags), **shared)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def ewm_weights(a: Tensor, length: int) -> Tensor:
    """(B, 1) smoothing coefficients -> (B, length) weights of an exponentially weighted mean
    of ``length`` values (oldest first), the oldest also carrying the start's (1 - a)^length."""
    age = torch.arange(length - 1, -1, -1, dtype=a.dtype, device=a.device)  # (length,)
    w = a * (1 - a) ** age  # (B, length)
    return torch.cat([w[:, :1] + (1 - a) ** length, w[:, 1:]], dim=1)


def cycle_trend(cycles: Tensor, full: Tensor) -> Tensor:
    """(B, C, m) cycles, (B, C) 1 where whole -> the trend through each: its mean plus the
    slope between the neighbouring whole cycles' means. A cycle's own mean alone would leave a
    growing series' within-cycle rise in the profile, a jump at every cycle boundary."""
    m = cycles.shape[-1]
    means = cycles.mean(-1)  # (B, C)
    pair = full[:, 1:] * full[:, :-1]  # (B, C - 1) both neighbours whole
    step = (means[:, 1:] - means[:, :-1]) * pair
    total = nn.functional.pad(step, (1, 0)) + nn.functional.pad(step, (0, 1))
    pairs = nn.functional.pad(pair, (1, 0)) + nn.functional.pad(pair, (0, 1))
    slope = total / pairs.clamp_min(1) / m  # (B, C) per step
    ramp = torch.arange(m, dtype=cycles.dtype, device=cycles.device) - (m - 1) / 2
    return means.unsqueeze(-1) + slope.unsqueeze(-1) * ramp


def season_profile(v: Tensor, mask: Tensor, m: int, g: Tensor) -> Tensor:
    """(B, W) values and mask, season ``m``, (B, 1) gamma -> (B, m) profile (mean 0), phase 0
    = the step after the window's end minus m (the cycles are aligned with the window's end)."""
    batch, width = v.shape
    count = width // m
    cycles = v[:, width - count * m :].reshape(batch, count, m)  # (B, C, m)
    full = mask[:, width - count * m :].reshape(batch, count, m).amin(-1)  # (B, C) 1: no padding
    shapes = cycles - cycle_trend(cycles, full)  # (B, C, m)
    n = full.sum(1, keepdim=True)  # (B, 1) whole cycles
    start = (full.unsqueeze(-1) * shapes).sum(1) / n.clamp_min(1)  # (B, m) the mean cycle
    after = full.flip(1).cumsum(1).flip(1) - full  # (B, C) whole cycles after each one
    w = full * g * (1 - g) ** after  # (B, C)
    profile = (w.unsqueeze(-1) * shapes).sum(1) + (1 - g) ** n * start
    return profile - profile.mean(-1, keepdim=True)


class ESRNNNetwork(nn.Module):
    """(u, mask) (batch, window) normalised, series (batch,) index or -1 -> (batch, horizon)
    normalised forecasts (or (B, H, quantiles), or (B, H, [mean, raw scale]))."""

    def __init__(self, config: ESRNNConfig) -> None:
        super().__init__()
        self.config = config
        n, k = max(1, config.series), len(config.seasons)
        self.alpha = nn.Parameter(torch.full((n,), _logit(ALPHA0)))  # per-series level logit
        self.gamma = nn.Parameter(torch.full((n, k), _logit(GAMMA0)))  # per series and season
        self.net = PatchNetwork(config.network())
        self.partner = PatchNetwork(config.network()) if config.partner else None

    def coefficients(self, series: Tensor) -> tuple[Tensor, Tensor]:
        """(B, 1) alpha and (B, seasons) gamma; index -1 (unseen) takes the mean logits."""
        known = (series >= 0).unsqueeze(-1)
        row = series.clamp_min(0)
        a = torch.where(known, self.alpha[row].unsqueeze(-1), self.alpha.mean())
        g = torch.where(known, self.gamma[row], self.gamma.mean(0, keepdim=True))
        return torch.sigmoid(a), torch.sigmoid(g)

    def smooth(self, u: Tensor, mask: Tensor, series: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The deseasonalised window (B, W), its level (B, 1) and the future's seasonality
        (B, H), all in the normalised space."""
        c = self.config
        width = u.shape[1]
        a, g = self.coefficients(series)
        past = torch.zeros_like(u)  # (B, W) seasonality at each window step
        future = torch.zeros_like(u[:, :1]).expand(-1, c.horizon)  # (B, H)
        for i, m in enumerate(c.seasons):
            if width < m:
                continue
            profile = season_profile(u - past, mask, m, g[:, i : i + 1])  # (B, m)
            phase_past = torch.arange(width, device=u.device) - width  # window step -> phase
            past = past + profile[:, phase_past % m]
            future = future + profile[:, torch.arange(c.horizon, device=u.device) % m]
        deseasonalised = u - past
        level = (ewm_weights(a, width) * deseasonalised).sum(1, keepdim=True)  # (B, 1)
        return deseasonalised, level, future

    def hybrid(self, u: Tensor, mask: Tensor, series: Tensor) -> Tensor:
        """The hybrid's own forecast (normalised space)."""
        c = self.config
        deseasonalised, level, future = self.smooth(u, mask, series)
        x = deseasonalised[:, -c.net_window :] - level  # (B, L)
        out = self.net(x, mask[:, -c.net_window :])
        base = level + future  # (B, H)
        if c.outputs == 1:
            return base + out
        if c.likelihood == "gaussian":  # the base shifts the mean, not the scale
            return torch.stack([base + out[..., 0], out[..., 1]], dim=-1)
        return base.unsqueeze(-1) + out

    def both(self, u: Tensor, mask: Tensor, series: Tensor) -> tuple[Tensor, Tensor | None]:
        """The hybrid's forecast and the partner patch network's (None without one), which
        reads the last ``net_window`` steps minus their last patch's mean, as the patch model."""
        c = self.config
        own = self.hybrid(u, mask, series)
        if self.partner is None:
            return own, None
        x = u[:, -c.net_window :]
        level = x[:, -c.patch :].mean(dim=1, keepdim=True)  # (B, 1)
        return own, self.partner(x - level, mask[:, -c.net_window :]) + level

    def forward(self, u: Tensor, mask: Tensor, series: Tensor) -> Tensor:
        own, other = self.both(u, mask, series)
        return own if other is None else (own + other) / 2


class ESRNNModule(nn.Module):
    """Raw (value, mask) windows in, raw forecasts out: the mean of the ensemble's members.

    ``forward(raw, loc, scale, steps, noise=None, series=None)``: raw (batch, window, 2),
    loc/scale (batch, 2), series (batch,) the fitted series' rows (-1 or None: unseen) ->
    (batch, steps, 1 or 5 quantiles); beyond the horizon the median is fed back.
    """

    log: Tensor

    def __init__(self, config: ESRNNConfig) -> None:
        super().__init__()
        config.check()
        self.config = config
        self.members = nn.ModuleList(ESRNNNetwork(config) for _ in range(config.members))
        self.register_buffer("log", torch.tensor(config.log, dtype=torch.bool))

    def blocks(self, steps: int) -> int:
        return -(-steps // self.config.horizon)

    def forward(
        self,
        raw: Tensor,
        loc: Tensor,
        scale: Tensor,
        steps: int,
        noise: Tensor | None = None,
        series: Tensor | None = None,
    ) -> Tensor:
        c = self.config
        mask = raw[..., 1]
        u = to_unit(raw, loc, scale, self.log)[..., 0]  # (B, W)
        if series is None:
            series = torch.full((u.shape[0],), -1, dtype=torch.long, device=u.device)
        outputs = []
        for _ in range(self.blocks(steps)):
            out = torch.stack([net(u, mask, series) for net in self.members])  # (M, B, H[, K])
            out = combine(out, c.likelihood, c.outputs)  # (B, H, K)
            outputs.append(out)
            u, mask = feed_back(u, mask, out, c.window)
        forecast = torch.cat(outputs, dim=1)[:, :steps]  # (B, steps, 1 or 5)
        return from_unit(forecast, loc, scale, self.log)


def series_rows(fitted_ids: list[str], ids: list[str], device: torch.device) -> Tensor:
    """Each id's row among the fitted series (-1: a series the model was not fitted on)."""
    known = {name: i for i, name in enumerate(fitted_ids)}
    return torch.tensor([known.get(name, -1) for name in ids], dtype=torch.long, device=device)
