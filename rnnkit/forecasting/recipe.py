"""The patch model's recipe: seasons from the frequency, the input length and the budget.

Measured on M4 Hourly/Weekly and the bundled series (docs/forecasting.md, "The patch model").
Every rule is a small pure function, so that tests and docs can state it exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnnkit.data.freq import parse_freq
from rnnkit.data.scaling import SeriesScaler, log_mask

# frequency -> (seasons, patch, default horizon)
FREQUENCIES: dict[str, tuple[tuple[int, ...], int, int]] = {
    "H": ((24, 168), 24, 48),
    "30min": ((48, 336), 48, 96),
    "D": ((7, 365), 7, 14),
    "W": ((52,), 4, 13),
    "M": ((12,), 12, 18),
    "Q": ((4,), 4, 8),
    "Y": ((), 1, 6),
}
MAX_INPUT = 1000  # the input length's cap
BATCH, MIN_BATCH = 256, 16
PASSES, MIN_STEPS, MAX_STEPS = 30, 200, 4000  # the budget: passes over the windows, clipped
EVALUATIONS = 25  # evaluations per budget (each 20 to 200 steps)


def frequency_key(freq: str | None, season: int | None) -> str | None:
    """The row of :data:`FREQUENCIES` for a pandas ``freq``; with integer time steps (no
    ``freq``), the row whose shortest season is ``season`` (None: no row matches)."""
    if freq is not None:
        offset = parse_freq(freq)
        base, n = offset.base.freqstr.split("-")[0], offset.n
        if base == "h" and n == 1:
            return "H"
        if base == "min" and n == 30:
            return "30min"
        if base in ("D", "W") and n == 1:
            return base
        for prefix, key in (("BM", "M"), ("M", "M"), ("BQ", "Q"), ("Q", "Q")):
            if base.startswith(prefix) and n == 1:
                return key
        if base[:1] in ("Y", "A") or base[:2] == "BY":
            return "Y"
    for key, (seasons, _, _) in FREQUENCIES.items():
        if seasons and seasons[0] == season:
            return key
    return "Y" if season in (None, 1) and freq is None else None


def seasons_and_patch(freq: str | None, season: int | None) -> tuple[tuple[int, ...], int, int]:
    """(seasons, patch, default horizon); ``season`` (``--season``) overrides the table's
    shortest season; an unknown frequency with a season uses that season alone as the patch; a
    seasonless frequency (yearly) given a season (sunspots: 11) reads it as a lag, patch 1."""
    key = frequency_key(freq, season)
    if key is None:
        m = season or 1
        return ((m,) if m > 1 else ()), m, max(m, 6)
    seasons, patch, horizon = FREQUENCIES[key]
    if season and season > 1 and not seasons:
        return (season,), 1, horizon
    if season and seasons and season != seasons[0]:
        return (season,), season, max(season, horizon)
    return seasons, patch, horizon


def usable_seasons(seasons: tuple[int, ...], horizon: int, median_length: int) -> tuple[int, ...]:
    """The seasons the median history holds twice, plus two horizons."""
    return tuple(m for m in seasons if 2 * m + 2 * horizon <= median_length)


def input_length(usable: tuple[int, ...], horizon: int, patch: int) -> int:
    """max(2 x longest usable season, 2 x horizon), capped, rounded up to whole patches."""
    length = min(max(2 * max(usable, default=1), 2 * horizon, patch), MAX_INPUT)
    return int(math.ceil(length / patch) * patch)


@dataclass(frozen=True)
class Budget:
    """The batch size, optimiser steps and evaluation period for ``windows`` training windows."""

    batch: int
    steps: int
    every: int

    @property
    def evaluations(self) -> int:
        return -(-self.steps // self.every)


def budget(windows: int, batch: int = BATCH) -> Budget:
    """30 passes over the windows, clipped to [200, 4000] steps; evaluate every steps / 25."""
    size = int(min(batch, max(MIN_BATCH, windows)))
    steps = int(np.clip(PASSES * windows / size, MIN_STEPS, MAX_STEPS))
    return Budget(size, steps, int(np.clip(steps // EVALUATIONS, 20, 200)))


def patch_scaler(
    values: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, log: np.ndarray | None = None
) -> SeriesScaler:
    """Per series: log where every training value is positive (loc 0, scale 1), else divide by
    the mean |y|. Two features: the target and the 0/1 padding mask (never scaled). ``log``
    imposes a fitted model's log mask (series it has not seen)."""
    target = values[:, :1]
    if log is None:
        log = log_mask(target, offsets, np.asarray(lengths), "auto")
    n = len(lengths)
    scale = np.ones((n, 2), np.float32)
    if not log[0]:
        for i, (start, length) in enumerate(zip(offsets[:-1], lengths, strict=True)):
            part = target[int(start) : int(start) + int(length), 0]
            scale[i, 0] = float(np.mean(np.abs(part))) + 1e-8
    return SeriesScaler(np.array([bool(log[0]), False]), np.zeros((n, 2), np.float32), scale)
