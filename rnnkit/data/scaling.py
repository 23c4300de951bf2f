"""Per-series scaling, fitted on the training part of each series only.

Each feature of each series is mapped to ``u = (g(x) - loc) / scale`` where ``g`` is ``log``
for the features that use the log transform and the identity otherwise, and ``loc``/``scale``
are that series' training mean and standard deviation of ``g(x)``. Only rows before each
series' cut-off enter the statistics, so nothing from the test part leaks into them.

The log transform turns a multiplicative season (AirPassengers: the yearly swing grows with the
level) into an additive one that a small network can learn from little data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import UserError, unknown

TRANSFORMS = ("auto", "log", "none")
# log(max(x, LOG_FLOOR)): keeps a stray non-positive value at prediction time finite
LOG_FLOOR = 1e-6


def log_mask(
    values: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, transform: str
) -> np.ndarray:
    """Which features get the log: 'log' all (must be positive), 'auto' the positive ones.

    ``values`` (time, features); only each series' first ``lengths[i]`` rows are looked at.
    """
    if transform not in TRANSFORMS:
        raise unknown("transform", transform, TRANSFORMS)
    train = values[training_rows(offsets, lengths)]  # (train_time, features)
    positive = (train > 0).all(axis=0) if train.shape[0] else np.zeros(values.shape[1], bool)
    if transform == "none":
        return np.zeros(values.shape[1], dtype=bool)
    if transform == "log" and not positive.all():
        raise UserError("--transform log needs strictly positive values in every column")
    return positive.astype(bool)


def training_rows(offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A boolean row mask: the first ``lengths[i]`` rows of every series ``i``."""
    total = int(offsets[-1])
    starts = offsets[:-1].astype(np.int64)
    position = np.arange(total) - np.repeat(starts, np.diff(offsets))  # row index within series
    return position < np.repeat(np.asarray(lengths, dtype=np.int64), np.diff(offsets))


@dataclass
class SeriesScaler:
    """Per-series, per-feature ``(g(x) - loc) / scale`` with ``g`` = log where ``log[f]``."""

    log: np.ndarray  # (features,) bool: apply log before standardising
    loc: np.ndarray  # (series, features) float32: training mean of g(x)
    scale: np.ndarray  # (series, features) float32: training std of g(x), 1 where constant

    @classmethod
    def fit(
        cls,
        values: np.ndarray,
        offsets: np.ndarray,
        lengths: np.ndarray,
        *,
        transform: str = "auto",
        log: np.ndarray | None = None,
    ) -> SeriesScaler:
        """Fit on the first ``lengths[i]`` rows of each series ``i`` of ``values`` (time, F).

        ``log`` (features,) imposes the log mask (e.g. a fitted model's) instead of choosing it.
        """
        lengths = np.asarray(lengths, dtype=np.int64)
        if (lengths < 1).any() or (lengths > np.diff(offsets)).any():
            raise UserError("every series needs at least one training value to fit the scaler")
        mask = log_mask(values, offsets, lengths, transform) if log is None else log
        train = values[training_rows(offsets, lengths)].astype(np.float64)  # (train_time, F)
        g = np.where(mask, np.log(np.maximum(train, LOG_FLOOR)), train)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        n = lengths[:, None].astype(np.float64)  # (series, 1)
        mean = np.add.reduceat(g, starts, axis=0) / n  # (series, F)
        var = np.maximum(np.add.reduceat(g * g, starts, axis=0) / n - mean * mean, 0.0)
        std = np.sqrt(var)
        std = np.where(std > 1e-8 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        return cls(mask, mean.astype(np.float32), std.astype(np.float32))

    @classmethod
    def fit_pooled(cls, sequences: list[np.ndarray]) -> SeriesScaler:
        """One plain standardisation for all ``sequences`` (each (time, F)) taken together:
        a single "series" (index 0), no log (e.g. the classifier's inputs)."""
        values = np.concatenate(sequences)  # (total time, F)
        n = len(values)
        return cls.fit(values, np.array([0, n]), np.array([n]), transform="none")

    def transform_each(self, sequences: list[np.ndarray], series: int = 0) -> list[Tensor]:
        """:meth:`transform` of every sequence, as float32 tensors."""
        return [torch.from_numpy(self.transform(s, series)) for s in sequences]

    def transform(self, values: np.ndarray, series: int) -> np.ndarray:
        """``values`` (time, F) of series ``series`` -> scaled (time, F)."""
        g = np.where(self.log, np.log(np.maximum(values, LOG_FLOOR)), values)
        return ((g - self.loc[series]) / self.scale[series]).astype(np.float32)

    def inverse(self, scaled: np.ndarray, series: int) -> np.ndarray:
        """Undo :meth:`transform` for series ``series``."""
        g = np.asarray(scaled * self.scale[series] + self.loc[series])
        g[..., self.log] = np.exp(g[..., self.log])  # exp only where log was taken
        return g

    def extend(self, other: SeriesScaler) -> SeriesScaler:
        """This scaler's series followed by ``other``'s (same log mask)."""
        return SeriesScaler(
            self.log,
            np.concatenate([self.loc, other.loc]),
            np.concatenate([self.scale, other.scale]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "log": self.log.tolist(),
            "loc": self.loc.tolist(),
            "scale": self.scale.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeriesScaler:
        try:
            log = np.asarray(data["log"], dtype=bool)
            loc = np.asarray(data["loc"], dtype=np.float32)
            scale = np.asarray(data["scale"], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as err:
            raise UserError(f"the saved scaler is malformed ({err})") from None
        if loc.ndim != 2 or loc.shape != scale.shape or loc.shape[1] != log.shape[0]:
            raise UserError("the saved scaler is malformed (shapes do not agree)")
        return cls(log, loc, scale)
