"""What ``rnnkit tune`` searches, and how a trial's values become forecaster options.

The space (every option the user fixed, on the command line or in ``--config``, is left out):

==============  ==========================================  ===============================
option          values                                      the defaults' trial
==============  ==========================================  ===============================
model           patch, classic                              patch
cell            lstm, gru                                   lstm
hidden_size     32, 64, 128                                 64
num_layers      1, 2                                        1
dropout         0 to 0.3 (uniform), only with 2 layers      (0)
lr              3e-4 to 1e-2 (log-uniform)                  the model's (patch 2e-3, classic 3e-3)
window          0.5, 1, 1.5, 2 x the model's own input      1 x
                length for the data (``window_factor``)
window_norm     last, mean (the classic model only)         last
==============  ==========================================  ===============================

The window is searched as a multiple of the length the model would choose for the data (the
patch model: two of its longest usable seasons or two horizons; the classic one: three
seasons), so the same space fits hourly and yearly series. Covariates or ``--strategy
recursive`` need the classic model: then only it is searched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnkit.config import override
from rnnkit.data.io import SeriesData, season_length
from rnnkit.forecasting.config import MODEL_TRAIN, ForecasterConfig, horizon_for_test, resolve
from rnnkit.forecasting.patch_training import layout

MODELS = ("patch", "classic")
CELLS = ("lstm", "gru")
HIDDEN_SIZES = (32, 64, 128)
LAYERS = (1, 2)
DROPOUT = (0.0, 0.3)
LR = (3e-4, 1e-2)
WINDOW_FACTORS = (0.5, 1.0, 1.5, 2.0)
WINDOW_NORMS = ("last", "mean")


@dataclass(frozen=True)
class Space:
    """The searched options: those of the table above that ``fixed`` does not set."""

    fixed: dict[str, Any]  # options given by the user, by flat name: never searched

    @classmethod
    def build(cls, fixed: dict[str, Any], *, covariates: bool) -> Space:
        """The space around ``fixed``; covariates or the recursive strategy fix the model
        to the classic one (the patch model reads neither)."""
        fixed = dict(fixed)
        if covariates or fixed.get("strategy") == "recursive":
            fixed.setdefault("model", "classic")
        return cls(fixed)

    def suggest(self, trial: Any) -> dict[str, Any]:
        """A trial's values, from an Optuna trial's ``suggest_*`` (fixed options left out)."""
        params: dict[str, Any] = {}
        if "model" not in self.fixed:
            params["model"] = trial.suggest_categorical("model", MODELS)
        for name, choices in (
            ("cell", CELLS),
            ("hidden_size", HIDDEN_SIZES),
            ("num_layers", LAYERS),
        ):
            if name not in self.fixed:
                params[name] = trial.suggest_categorical(name, choices)
        layers = int(self.fixed.get("num_layers", params.get("num_layers", 1)))
        if "dropout" not in self.fixed and layers > 1:
            params["dropout"] = trial.suggest_float("dropout", *DROPOUT)
        if "lr" not in self.fixed:
            params["lr"] = trial.suggest_float("lr", *LR, log=True)
        if "window" not in self.fixed:
            params["window_factor"] = trial.suggest_categorical("window_factor", WINDOW_FACTORS)
        model = self.fixed.get("model", params.get("model"))
        if model == "classic" and "window_norm" not in self.fixed:
            params["window_norm"] = trial.suggest_categorical("window_norm", WINDOW_NORMS)
        return params

    def defaults(self, base: ForecasterConfig) -> dict[str, Any]:
        """The values that make a trial run ``base`` as it is (the search's first trial)."""
        model = self.fixed.get("model", base.forecast.model)
        values = {
            "model": model,
            "cell": base.model.cell,
            "hidden_size": base.model.hidden_size,
            "num_layers": base.model.num_layers,
            "dropout": base.model.dropout,
            "lr": base.train.lr or MODEL_TRAIN[model]["lr"],
            "window_factor": 1.0,
            "window_norm": base.forecast.window_norm,
        }
        return self.suggest(_Given(values))


class _Given:
    """Answers ``suggest_*`` from a dict (what :meth:`Space.suggest` asks of given values)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.values[name]

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> Any:
        return self.values[name]


def trial_config(
    base: ForecasterConfig,
    params: dict[str, Any],
    series: SeriesData,
    lengths: np.ndarray,
    horizon_size: int | float,
) -> ForecasterConfig:
    """``base`` with a trial's values, for fitting on the first ``lengths[i]`` points of each
    series (the window factor becomes a window); ``horizon_size`` is the test size of the
    final fit, which the patch model takes as its horizon (a trial is the model the final fit
    trains, on less data)."""
    options = {k: v for k, v in params.items() if k != "window_factor"}
    config = horizon_for_test(override(base, options), horizon_size)
    if params.get("window_factor", 1.0) != 1.0:
        config = override(
            config, {"window": scaled_window(config, params["window_factor"], series, lengths)}
        )
    config.check()
    trainable(config, series, lengths)
    return config


def trainable(config: ForecasterConfig, series: SeriesData, lengths: np.ndarray) -> None:
    """A UserError (saying what is too short) unless ``config`` can train on the data."""
    if config.forecast.model == "patch":
        layout(series, lengths, config)
    else:
        resolve(config, season_length(series.freq), int(np.min(lengths)))


def scaled_window(
    config: ForecasterConfig, factor: float, series: SeriesData, lengths: np.ndarray
) -> int:
    """``factor`` x the input length ``config``'s model would choose for the data (the classic
    model's kept short enough to leave one training window)."""
    if config.forecast.model == "patch":
        return max(2, round(factor * layout(series, lengths, config).window))
    shortest = int(np.min(lengths))
    shape = resolve(config, season_length(series.freq), shortest)
    return max(2, min(round(factor * shape.window), shortest - shape.horizon))
