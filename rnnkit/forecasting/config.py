"""The Forecaster's typed configuration and the defaults that follow from the data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rnnkit.config import fraction, option, override, positive_int, to_flat
from rnnkit.data.scaling import TRANSFORMS
from rnnkit.errors import UserError, unknown
from rnnkit.forecasting.calendar import CALENDAR_MODES
from rnnkit.forecasting.calibration import CALIBRATIONS
from rnnkit.forecasting.module import LIKELIHOODS, WINDOW_NORMS
from rnnkit.models import ModelConfig, resolve_backend
from rnnkit.training import TrainConfig

STRATEGIES = ("direct", "recursive")
MODELS = ("patch", "classic")
AUTO_STEPS = 450  # optimiser steps aimed at when epochs is None (AirPassengers: 150 epochs)
# lr, batch_size and patience left None (not asked for) take the model's values, here; the
# patch model's batch size comes from the data (recipe.budget: up to 256)
MODEL_TRAIN = {
    "classic": {"lr": 3e-3, "batch_size": 32, "patience": 0},
    "patch": {"lr": 2e-3, "patience": 6},
}
TRAIN_HELPS = {
    "epochs": "maximum epochs (default: classic about 450 optimiser steps, 5 to 150 epochs; "
    "patch: from the data's size)",
    "lr": "peak learning rate (default: classic 3e-3, patch 2e-3)",
    "batch_size": "examples per optimiser step (default: classic 32, patch from the data's "
    "size, 16 to 256)",
    "patience": "early stopping: epochs without validation improvement, 0 disables (default: "
    "classic 0, patch 6)",
}


@dataclass
class ForecastSettings:
    """How series become windows and forecasts. ``None`` for window, horizon or season means
    "choose from the data" (see :func:`resolve`)."""

    model: str = option(
        "patch",
        "patch: patched recurrent net residual on seasonal naive (docs/forecasting.md); "
        "classic: one recurrent stack and a linear head",
        choices=MODELS,
    )
    window: int | None = option(
        None, "past steps per forecast (default: 3 seasons, at least 12)", type=positive_int
    )
    horizon: int | None = option(
        None, "steps per network call, direct strategy (default: one season)", type=positive_int
    )
    strategy: str = option(
        "direct",
        "direct: horizon steps per call; recursive: one step, fed back",
        choices=STRATEGIES,
    )
    likelihood: str | None = option(
        None,
        "add 80%/95% intervals: gaussian (mean + scale) or quantile (pinball loss)",
        choices=("gaussian", "quantile"),
    )
    calibration: str = option(
        "conformal",
        "80%/95% intervals calibrated on the end of the training part (split conformal, per "
        "horizon step; docs/forecasting.md); none: the head's own intervals (a point model: none)",
        choices=CALIBRATIONS,
    )
    season: int | None = option(
        None,
        "season length for seasonal naive and MASE (default: from the frequency)",
        type=positive_int,
    )
    transform: str = option(
        "auto", "auto: log where every training value is positive; log; none", choices=TRANSFORMS
    )
    window_norm: str = option(
        "last", "subtract each window's last value or mean before the network", choices=WINDOW_NORMS
    )
    samples: int = option(
        200, "sample paths for a Gaussian model fed its own forecasts", type=positive_int
    )
    calendar: str = option(
        "auto",
        "calendar features of a datetime axis as known-future inputs (patch model): auto "
        "(on for daily data, where they were measured to help), on, off",
        choices=CALENDAR_MODES,
    )
    val_fraction: float = option(
        0.0, "last share of each series' windows kept for early stopping", type=fraction
    )


@dataclass
class ForecasterConfig:
    """Every setting of a :class:`rnnkit.Forecaster` (saved with the model, flat: the names are
    unique). Defaults were tuned on the bundled series (docs/forecasting.md, "Measured")."""

    model: ModelConfig = field(default_factory=ModelConfig)  # LSTM, 64 units, one layer
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    # epochs None: about AUTO_STEPS optimiser steps, 5 to 150 epochs. lr, batch_size and
    # patience None: the model's (MODEL_TRAIN, via trained()); fit never sees a None
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            epochs=None,
            patience=None,  # type: ignore[arg-type]
            lr=None,  # type: ignore[arg-type]
            batch_size=None,  # type: ignore[arg-type]
            progress=False,
            log_every=0,
        )
    )
    device: str = "auto"  # "auto", "cpu", "cuda", "mps"

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ForecasterConfig:
        """Build from flat keyword options; a misspelt name is a UserError with a suggestion."""
        config = override(cls(), options, what="Forecaster option")
        config.check()
        return config

    def options(self) -> dict[str, Any]:
        """The flat options (what ``Forecaster(**options)`` takes and run folders record)."""
        return to_flat(self, skip=("input_size", "output_size", "log_every"))

    def check(self) -> None:
        """Validate the choices that do not depend on the data."""
        model, forecast, train = self.model, self.forecast, self.train
        resolve_backend(model.cell, model.backend)
        if model.bidirectional:
            raise UserError("--bidirectional cannot forecast: the future is not an input")
        if forecast.strategy not in STRATEGIES:
            raise unknown("strategy", forecast.strategy, STRATEGIES)
        if forecast.likelihood not in LIKELIHOODS:
            raise unknown("likelihood", str(forecast.likelihood), ["gaussian", "quantile"])
        if forecast.model not in MODELS:
            raise unknown("model", forecast.model, MODELS)
        if forecast.model == "patch" and forecast.strategy != "direct":
            raise UserError("the patch model has no --strategy recursive; use --model classic")
        if forecast.calendar not in CALENDAR_MODES:
            raise unknown("--calendar mode", forecast.calendar, CALENDAR_MODES)
        if forecast.model != "patch" and forecast.calendar == "on":
            raise UserError("calendar features need --model patch (the classic model has none)")
        if forecast.calibration not in CALIBRATIONS:
            raise unknown("calibration", forecast.calibration, CALIBRATIONS)
        if forecast.transform not in TRANSFORMS:
            raise unknown("transform", forecast.transform, TRANSFORMS)
        if forecast.window_norm not in WINDOW_NORMS:
            raise unknown("window normalisation", forecast.window_norm, WINDOW_NORMS)
        for name in ("window", "horizon", "season"):
            value = getattr(forecast, name)
            if value is not None and value <= 0:
                raise UserError(f"{name} must be a positive integer, got {value}")
        if forecast.strategy == "recursive" and forecast.horizon not in (None, 1):
            raise UserError("the recursive strategy forecasts one step per call; drop --horizon")
        if not 0.0 <= forecast.val_fraction < 1.0:
            raise UserError(f"--val-fraction must be in [0, 1), got {forecast.val_fraction}")
        if (
            forecast.samples < 2
            or (train.epochs or 1) < 1
            or (train.batch_size or 1) < 1
            or (train.lr or 1.0) <= 0
        ):
            raise UserError("samples must be >= 2, epochs and batch size >= 1, lr > 0")

    def trained(self, **chosen: Any) -> TrainConfig:
        """``train`` with lr, batch_size and patience not asked for (None) set: ``chosen``
        (values the data decided), else the model's :data:`MODEL_TRAIN`."""
        values = {**MODEL_TRAIN[self.forecast.model], **chosen}
        unset = {k: v for k, v in values.items() if getattr(self.train, k) is None}
        return dataclasses.replace(self.train, **unset)

    def train_config(self, windows: int) -> TrainConfig:
        """The TrainConfig for ``windows`` training windows (they set the automatic epochs)."""
        train = self.trained()
        batches = max(1, -(-windows // train.batch_size))
        epochs = train.epochs or min(150, max(5, -(-AUTO_STEPS // batches)))
        return dataclasses.replace(train, epochs=epochs, log_every=0)


def horizon_for_test(config: ForecasterConfig, test_size: int | float | None) -> ForecasterConfig:
    """The patch model without ``--horizon`` forecasts a whole-number ``test_size`` (> 0) in
    one call: its horizon becomes the test size (the CLI's ``--test-size`` and
    ``Forecaster.fit(test_size=...)`` alike). Otherwise ``config`` as it is."""
    settings = config.forecast
    whole = isinstance(test_size, int) and not isinstance(test_size, bool) and test_size > 0
    if settings.model != "patch" or settings.horizon is not None or not whole:
        return config
    return override(config, {"horizon": test_size})


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
    settings = config.forecast
    s = settings.season or season or 1
    horizon = 1 if settings.strategy == "recursive" else (settings.horizon or max(s, 1))
    window = settings.window or max(3 * s, 12)
    if settings.horizon is None and settings.strategy == "direct":
        horizon = max(1, min(horizon, shortest // 4))
    if settings.window is None:
        window = max(2, min(window, shortest - horizon - 7))
    if shortest < window + horizon:
        raise UserError(
            f"the shortest series has {shortest} training points, fewer than window + horizon "
            f"= {window} + {horizon}; use a shorter --window/--horizon or a longer series"
        )
    return Shape(window=window, horizon=horizon, season=s)
