"""The Forecaster's typed configuration and the defaults that follow from the data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from rnnkit.data.scaling import TRANSFORMS
from rnnkit.errors import UserError, unknown
from rnnkit.forecasting.module import LIKELIHOODS, WINDOW_NORMS
from rnnkit.models import resolve_backend
from rnnkit.training import TrainConfig

STRATEGIES = ("direct", "recursive")
AUTO_STEPS = 450  # optimiser steps aimed at when epochs is None (AirPassengers: 150 epochs)


@dataclass
class ForecasterConfig:
    """Every setting of a :class:`rnnkit.Forecaster` (saved with the model).

    ``None`` for window, horizon or season means "choose from the data" (see :func:`resolve`).
    Defaults were tuned on the bundled series (docs/forecasting.md, "Measured").
    """

    # model
    cell: str = "lstm"  # a name from rnnkit.models.CELLS
    backend: str = "auto"  # "auto" | "torch" | "rnnkit"
    hidden_size: int = 64  # units per recurrent layer
    num_layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # between recurrent layers
    # forecasting
    window: int | None = None  # past steps read per forecast; None: 3 seasons (at least 12)
    horizon: int | None = None  # steps per network call (direct); None: one season
    strategy: str = "direct"  # "direct" (horizon steps per call) or "recursive" (one step)
    likelihood: str | None = None  # None (point), "gaussian" or "quantile" (80%/95% intervals)
    season: int | None = None  # season length for seasonal naive and MASE; None: from the data
    transform: str = "auto"  # "auto" (log where positive), "log" or "none"
    window_norm: str = "last"  # subtract each window's "last" value, "mean", or "none"
    samples: int = 200  # sample paths for a Gaussian model fed its own forecasts
    # training
    epochs: int | None = None  # None: about AUTO_STEPS optimiser steps, 5 to 150 epochs
    lr: float = 3e-3  # AdamW's peak learning rate (cosine decay)
    batch_size: int = 32  # windows per step
    weight_decay: float = 0.0  # decoupled weight decay
    clip_norm: float = 1.0  # max gradient norm; 0 disables
    patience: int = 0  # early stopping patience in epochs; 0 trains all epochs
    val_fraction: float = 0.0  # last fraction of each series' windows kept for validation
    seed: int = 0  # fixes every random source
    device: str = "auto"  # "auto", "cpu", "cuda", "mps"
    precision: str = "auto"  # "auto" (bf16 autocast on CUDA), "fp32" or "bf16" for training
    compile: bool = False  # torch.compile the network for training
    progress: bool = False  # progress bar on stderr

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ForecasterConfig:
        """Build from keyword options; a misspelt name is a UserError with a suggestion."""
        names = {f.name for f in dataclasses.fields(cls)}
        for key in options:
            if key not in names:
                raise unknown("Forecaster option", key, names)
        config = cls(**options)
        config.check()
        return config

    def check(self) -> None:
        """Validate the choices that do not depend on the data."""
        resolve_backend(self.cell, self.backend)
        if self.strategy not in STRATEGIES:
            raise unknown("strategy", self.strategy, STRATEGIES)
        if self.likelihood not in LIKELIHOODS:
            raise unknown("likelihood", str(self.likelihood), ["gaussian", "quantile"])
        if self.transform not in TRANSFORMS:
            raise unknown("transform", self.transform, TRANSFORMS)
        if self.window_norm not in WINDOW_NORMS:
            raise unknown("window normalisation", self.window_norm, WINDOW_NORMS)
        for name in ("window", "horizon", "season"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise UserError(f"{name} must be a positive integer, got {value}")
        if self.strategy == "recursive" and self.horizon not in (None, 1):
            raise UserError("the recursive strategy forecasts one step per call; drop --horizon")
        if (
            self.samples < 2
            or (self.epochs is not None and self.epochs < 1)
            or self.batch_size < 1
            or self.lr <= 0
        ):
            raise UserError("samples must be >= 2, epochs and batch size >= 1, lr > 0")

    def train_config(self, windows: int) -> TrainConfig:
        """The TrainConfig for ``windows`` training windows (they set the automatic epochs)."""
        batches = max(1, -(-windows // self.batch_size))
        epochs = self.epochs or min(150, max(5, -(-AUTO_STEPS // batches)))
        return TrainConfig(
            epochs=epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            clip_norm=self.clip_norm,
            patience=self.patience,
            seed=self.seed,
            progress=self.progress,
            log_every=0,
            precision=self.precision,
            compile=self.compile,
        )


@dataclass(frozen=True)
class Shape:
    """The window, horizon and season actually used, resolved from the config and the data."""

    window: int
    horizon: int
    season: int


def resolve(config: ForecasterConfig, season: int | None, shortest: int) -> Shape:
    """Fill in window/horizon/season; ``shortest`` is the shortest training series length.

    Automatic sizes shrink to leave at least a few training windows; sizes given explicitly
    that do not fit are a UserError.
    """
    s = config.season or season or 1
    horizon = 1 if config.strategy == "recursive" else (config.horizon or max(s, 1))
    window = config.window or max(3 * s, 12)
    if config.horizon is None and config.strategy == "direct":
        horizon = max(1, min(horizon, shortest // 4))
    if config.window is None:
        window = max(2, min(window, shortest - horizon - 7))
    if shortest < window + horizon:
        raise UserError(
            f"the shortest series has {shortest} training points, fewer than window + horizon "
            f"= {window} + {horizon}; use a shorter --window/--horizon or a longer series"
        )
    return Shape(window=window, horizon=horizon, season=s)
