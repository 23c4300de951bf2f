"""Split-conformal calibration of the 80% and 95% intervals, per horizon step.

Every forecaster keeps windows at the end of its training part that it did not fit on (the
patch model: its validation windows, the last H points of every history; the classic model:
the last windows of every series, see :mod:`.training`). Their out-of-sample errors, in the
scale-free *unit* space (``(g(y) - loc) / scale``, g = log where the series is logged), set the
intervals (split conformal prediction: Vovk et al. 2005, Lei et al. 2018). Errors are measured
in units of each window's own spread (its mean absolute seasonal difference, the scale of MASE
and MSIS, computed from the input window, so the exported graph computes it too): a smooth
series gets narrow intervals, a noisy one wide ones, with one quantile for all of them:

* point head: symmetric intervals ``forecast +- q_h``, q_h the conformal quantile of
  ``|y - forecast|`` at step h;
* quantile head: conformalised quantile regression (Romano et al. 2019): the score
  ``max(lo - y, y - hi)``, the bounds moved out (or in) by its quantile q_h;
* gaussian head: scaled intervals: the score ``max((med - y) / (med - lo), (y - med) / (hi -
  med))``, each bound's distance to the median multiplied by its quantile q_h.

The conformal quantile of n scores at level 1 - alpha is the ceil((n + 1)(1 - alpha))-th
smallest. With at least :data:`MIN_PER_STEP` windows each step has its own quantile; with fewer
(a single series) the steps are pooled: symmetric scores divided by a power law a h^b fitted
to the per-step mean errors first, the other two as they are. Beyond the horizon (forecasts
fed back) the symmetric width grows as (h / H)^g up to two horizons, then holds: g measured
on forecasts fed back over a second horizon where a patch proxy has them (few series), else
the log-log slope of the widths over the horizon; g <= 1/2, a random walk's. The other two
scale a head's own bounds, which start narrow again in every fed-back horizon: their last
factor grows as sqrt(h / H) (a classic Gaussian model's stays the last step's: its sample
paths widen on their own).

:class:`Calibration` applies the widths to the module's raw output as plain tensor operations,
so ``predict`` and the exported graph compute the same bounds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.errors import UserError

CALIBRATIONS = ("conformal", "none")
LEVELS = (0.8, 0.95)  # the interval levels; columns of the width table
# head (likelihood) -> how its intervals are calibrated
METHODS = {None: "symmetric", "quantile": "cqr", "gaussian": "scaled"}
MIN_PER_STEP = 100  # windows needed for a quantile per horizon step; fewer pool the steps
MIN_SPREAD = 1e-3  # floor of a window's spread (unit space: 0.1% of the level when logged)
EPS = 1e-6
HOLD_AFTER = 2.0  # horizons after which the widths stop growing
MAX_GROWTH = 0.5  # the steepest growth beyond the horizon: sqrt(h / H), a random walk's


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ceil((n + 1) level)-th smallest finite score (the largest when n is too small)."""
    values = np.sort(np.asarray(scores, np.float64).reshape(-1))
    values = values[np.isfinite(values)]
    if values.shape[0] == 0:
        raise UserError("no finite calibration errors: the validation forecasts are not finite")
    k = math.ceil((values.shape[0] + 1) * level)
    return float(values[min(k, values.shape[0]) - 1])


def bounds(out: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) columns of a (N, H, 5) output for an interval level (0.8 or 0.95)."""
    return (out[..., 1], out[..., 3]) if level == 0.8 else (out[..., 0], out[..., 4])


def scores(method: str, out: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    """Nonconformity scores (N, H) of unit-space outputs (N, H, K) against the truth (N, H)."""
    if method == "symmetric":
        return np.abs(y - out[..., 0])
    lo, hi = bounds(out, level)
    if method == "cqr":
        return np.maximum(lo - y, y - hi)
    med = out[..., 2]
    return np.maximum((med - y) / np.maximum(med - lo, EPS), (y - med) / np.maximum(hi - med, EPS))


def power_law(per_step: np.ndarray) -> tuple[float, float]:
    """(a, b) of the least-squares fit log(e_h) = log(a) + b log(h), h = 1..H, of positive
    per-step values (H,); b = 0 for a single step."""
    e = np.maximum(np.asarray(per_step, np.float64), EPS)
    if e.shape[0] < 2:
        return float(e[0]), 0.0
    b, log_a = np.polyfit(np.log(np.arange(1, e.shape[0] + 1)), np.log(e), 1)
    return float(np.exp(log_a)), float(b)


def spread(errors: np.ndarray) -> np.ndarray:
    """A smooth, non-decreasing per-step scale (H,) of absolute errors (N, H) for pooling:
    a * h^b fitted to the per-step mean errors, b in [0, 1] (a few windows from consecutive
    origins make the raw per-step means too noisy to follow)."""
    per_step = np.nan_to_num(np.nanmean(errors, axis=0), nan=EPS)
    a, b = power_law(per_step)
    b = min(max(b, 0.0), 1.0)
    scale = a * np.arange(1, errors.shape[1] + 1, dtype=np.float64) ** b
    return np.maximum(scale, max(float(scale.max()) * 1e-3, EPS))


def growth_exponent(widths: np.ndarray) -> float:
    """How the widths grow beyond the horizon: (h / H)^b, b the log-log slope of the 80%
    widths (H,) over the steps, within [0, :data:`MAX_GROWTH`] (a seasonal series' errors
    level off; a random walk's grow as sqrt(h)); :data:`MAX_GROWTH` with a single step."""
    if widths.shape[0] < 2:
        return MAX_GROWTH
    return min(max(power_law(widths)[1], 0.0), MAX_GROWTH)


def measured_growth(errors: np.ndarray) -> float:
    """The growth exponent b beyond the horizon H from absolute errors (N, 2H) of forecasts
    fed back over a second horizon: the b in [0, :data:`MAX_GROWTH`] whose widths
    ``w_H (h / H)^b`` have, over steps H+1..2H, the mean ratio to w_H that the errors have to
    their step-H level (:func:`power_law` fitted to the first H steps' means)."""
    horizon = errors.shape[1] // 2
    per_step = np.nanmean(errors, axis=0)
    a, b = power_law(per_step[:horizon])
    ratio = float(np.mean(per_step[horizon:])) / max(a * horizon**b, EPS)
    h = np.arange(horizon + 1, 2 * horizon + 1) / horizon
    grid = np.linspace(0.0, MAX_GROWTH, 51)
    return float(grid[np.argmin([abs(np.mean(h**g) - ratio) for g in grid])])


def step_quantiles(method: str, s: np.ndarray, level: float) -> np.ndarray:
    """The width (or factor) per horizon step (H,) from scores (N, H)."""
    if s.shape[0] >= MIN_PER_STEP:
        return np.array([conformal_quantile(s[:, h], level) for h in range(s.shape[1])])
    if method == "symmetric":
        scale = spread(s)
        return conformal_quantile(s / scale, level) * scale
    return np.full(s.shape[1], conformal_quantile(s, level))


def fit_calibration(
    likelihood: str | None,
    out: np.ndarray,
    y: np.ndarray,
    spreads: np.ndarray,
    lag: int,
    masked: bool,
) -> Calibration:
    """A :class:`Calibration` from unit-space outputs (N, H, K), truths (N, H) and the
    windows' spreads (N,) (:func:`window_spread` at ``lag``; ``masked``: a patch model)."""
    method = METHODS[likelihood]
    out, y = np.asarray(out, np.float64), np.asarray(y, np.float64)
    per_window = np.ones(out.shape[0]) if method == "scaled" else np.asarray(spreads, np.float64)
    widths = [
        step_quantiles(method, scores(method, out, y, a) / per_window[:, None], a) for a in LEVELS
    ]
    table = np.stack(widths, axis=1)
    growth = growth_exponent(table[:, 0]) if method == "symmetric" else MAX_GROWTH
    return Calibration(method, table, int(out.shape[0]), lag, masked, growth)


def window_spread(u: Tensor, mask: Tensor | None, lag: int) -> Tensor:
    """Each window's mean |u_t - u_{t-lag}| over its real values (B, W) -> (B,); lag 1 where
    fewer than two such pairs exist; at least :data:`MIN_SPREAD`."""

    def at(k: int) -> tuple[Tensor, Tensor]:
        d = (u[:, k:] - u[:, :-k]).abs()
        m = torch.ones_like(d) if mask is None else mask[:, k:] * mask[:, :-k]
        n = m.sum(dim=1)
        return (d * m).sum(dim=1) / n.clamp_min(1.0), n

    one, _ = at(1)
    if 1 < lag < int(u.shape[1]):
        seasonal, pairs = at(lag)
        one = torch.where(pairs >= 2, seasonal, one)
    return one.clamp_min(MIN_SPREAD)


class Calibration(nn.Module):
    """Calibrated interval columns for a module's raw output.

    ``forward(out (B, steps, K), raw (B, W, F), loc (B, F), scale (B, F), log (F,))`` ->
    (B, steps, 5): lo_95, lo_80, forecast, hi_80, hi_95 in raw units, ordered. ``widths``
    (H, 2): per horizon step, the 80% and 95% width in units of the input window's spread
    (symmetric, cqr: :func:`window_spread` at ``lag``, unit space) or the factor (scaled).
    """

    widths: Tensor

    def __init__(
        self,
        method: str,
        widths: np.ndarray,
        windows: int = 0,
        lag: int = 1,
        masked: bool = False,
        growth: float = MAX_GROWTH,
    ) -> None:
        super().__init__()
        if method not in METHODS.values():
            raise UserError(f"unknown calibration method '{method}'")
        if not 0.0 <= growth <= 1.0:
            raise UserError(f"the saved interval calibration's growth {growth} is not in [0, 1]")
        self.method, self.windows, self.lag, self.masked = method, windows, int(lag), masked
        self.growth = float(growth)
        table = torch.as_tensor(np.asarray(widths, np.float32)).reshape(-1, len(LEVELS))
        if not torch.isfinite(table).all():
            raise UserError("the saved interval calibration is not finite")
        self.register_buffer("widths", table)

    def step_widths(self, steps: int) -> Tensor:
        """(steps, 2) widths: the table, then the last row grown as (h / H)^growth."""
        horizon = self.widths.shape[0]
        if steps <= horizon:
            return self.widths[:steps]
        h = torch.arange(horizon + 1, steps + 1, dtype=self.widths.dtype, device=self.widths.device)
        # a classic Gaussian's sample paths widen on their own; the patch model's (masked) not
        grows = self.method != "scaled" or self.masked
        if self.method == "symmetric":  # errors fed back level off (measured: docs)
            h = h.clamp(max=HOLD_AFTER * horizon)
        growth = (h / horizon) ** self.growth if grows else torch.ones_like(h)
        return torch.cat([self.widths, self.widths[-1:] * growth[:, None]])

    def forward(self, out: Tensor, raw: Tensor, loc: Tensor, scale: Tensor, log: Tensor) -> Tensor:
        u = to_target_unit(out, loc, scale, log)  # (B, steps, K)
        w = self.step_widths(u.shape[1]).unsqueeze(0)  # (1, steps, 2)
        if self.method != "scaled":  # in units of each window's own spread
            window = to_target_unit(raw[..., :1], loc, scale, log)[..., 0]  # (B, W)
            mask = raw[..., 1] if self.masked else None
            w = w * window_spread(window, mask, self.lag)[:, None, None]  # (B, steps, 2)
        w80, w95 = w[..., 0], w[..., 1]
        if self.method == "symmetric":
            mid = u[..., 0]
            cols = [mid - w95, mid - w80, mid, mid + w80, mid + w95]
        elif self.method == "cqr":
            mid = u[..., 2]
            cols = [u[..., 0] - w95, u[..., 1] - w80, mid, u[..., 3] + w80, u[..., 4] + w95]
        else:
            mid = u[..., 2]
            cols = [
                mid - w95 * (mid - u[..., 0]),
                mid - w80 * (mid - u[..., 1]),
                mid,
                mid + w80 * (u[..., 3] - mid),
                mid + w95 * (u[..., 4] - mid),
            ]
        lo80 = torch.minimum(cols[1], mid)  # never crossing: lo_95 <= lo_80 <= mid <= ...
        hi80 = torch.maximum(cols[3], mid)
        lo95, hi95 = torch.minimum(cols[0], lo80), torch.maximum(cols[4], hi80)
        return from_target_unit(torch.stack([lo95, lo80, mid, hi80, hi95], dim=-1), loc, scale, log)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "levels": list(LEVELS),
            "windows": self.windows,
            "lag": self.lag,
            "masked": self.masked,
            "growth": self.growth,
            "widths": self.widths.cpu().tolist(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Calibration | None:
        """The saved calibration (None when the model was saved without one)."""
        if data is None:
            return None
        try:
            widths = np.asarray(data["widths"], np.float32)
            lag, masked = int(data["lag"]), bool(data["masked"])
            growth = float(data.get("growth", MAX_GROWTH))  # saved before it was measured
            return cls(str(data["method"]), widths, int(data["windows"]), lag, masked, growth)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise UserError(f"the saved interval calibration is malformed ({err})") from None


def to_target_unit(out: Tensor, loc: Tensor, scale: Tensor, log: Tensor) -> Tensor:
    """Raw target forecasts (B, steps, K) -> unit space, with the rows' loc/scale (B, F)."""
    g = torch.where(log[0], torch.log(torch.clamp(out, min=1e-6)), out)
    return (g - loc[:, :1].unsqueeze(1)) / scale[:, :1].unsqueeze(1)


def from_target_unit(u: Tensor, loc: Tensor, scale: Tensor, log: Tensor) -> Tensor:
    """The inverse of :func:`to_target_unit`."""
    g = u * scale[:, :1].unsqueeze(1) + loc[:, :1].unsqueeze(1)
    return torch.where(log[0], torch.exp(g), g)


def unit_truth(y: Tensor, loc: Tensor, scale: Tensor, log: Tensor) -> Tensor:
    """Raw truths (B, H) of the target -> unit space (B, H)."""
    return to_target_unit(y.unsqueeze(-1), loc, scale, log)[..., 0]
