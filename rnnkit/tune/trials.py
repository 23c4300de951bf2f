"""One trial: fit on the first part of each series' training part, score the rest.

The training loop's callbacks carry the trial's progress to Optuna: :class:`Reporter` reports
every epoch's validation loss (the training loss where the model keeps no validation windows),
stops a trial the pruner gives up on, and stops the trial under way when the time budget is
spent. A trial that fails on its options (a window that does not fit, a diverged run) is
recorded as failed with the reason, and the search goes on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from rnnkit.data.io import SeriesData
from rnnkit.errors import UserError
from rnnkit.forecasting.config import ForecasterConfig
from rnnkit.forecasting.evaluation import report
from rnnkit.forecasting.forecaster import Forecaster
from rnnkit.forecasting.frames import Columns
from rnnkit.training import Callback, EpochRecord, StepEnd, TrainingRun
from rnnkit.training.tensorboard import TensorBoardLogger
from rnnkit.tune.settings import METRICS, TuneSettings
from rnnkit.tune.space import Space, trial_config

BUDGET_NOTE = "stopped: time budget spent"


@dataclass
class SearchData:
    """The training part, cut for the search: in each fold, trials fit on the first
    ``inner`` points of each series and are scored on the ``n_val`` after them; the folds'
    cut-offs step back from the end of the training part (the test part lies beyond, unread)."""

    series: SeriesData
    columns: Columns
    folds: list[tuple[np.ndarray, np.ndarray]]  # (inner, n_val), each (series,): latest first
    horizon_size: int | float  # the final fit's test size: the patch model's horizon
    season: int  # the season of every MASE, the same for every trial


class Reporter(Callback):
    """Reports each epoch's loss to the trial; prunes; stops at the deadline."""

    def __init__(self, trial: optuna.Trial | None, deadline: float | None, prune: bool) -> None:
        self.trial, self.deadline, self.prune = trial, deadline, prune
        self.epochs = 0
        self.reporting = True  # the first fold reports; the others only watch the clock

    def on_step(self, run: TrainingRun, step: StepEnd) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise optuna.TrialPruned(BUDGET_NOTE)

    def on_epoch(self, run: TrainingRun, record: EpochRecord) -> None:
        if not self.reporting or self.trial is None:  # no trial: only the clock is watched
            return
        self.epochs = record.epoch
        loss = record.val_loss if record.val_loss is not None else record.train_loss
        self.trial.report(loss, record.epoch)
        if self.prune and self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {record.epoch}")


def family(config: ForecasterConfig) -> str:
    """Trials whose reported losses compare: the same model, window normalisation and loss."""
    forecast = config.forecast
    norm = f"/{forecast.window_norm}" if forecast.model == "classic" else ""
    return f"{forecast.model}{norm}/{forecast.likelihood or 'point'}"


def fit_and_score(
    config: ForecasterConfig,
    series: SeriesData,
    columns: Columns,
    lengths: np.ndarray,
    n_ahead: np.ndarray,
    season: int,
    callbacks: list[object],
) -> dict[str, Any]:
    """Fit on the first ``lengths[i]`` points of each series, score the ``n_ahead[i]`` after
    them: the model's and the baselines' scores (:func:`~rnnkit.forecasting.evaluation.report`)."""
    model = Forecaster(config=config)
    model.fit_series(series, columns, lengths, callbacks=callbacks)
    held = model.holdout_series(series, lengths, n_ahead)
    return report(held.histories, held.truths, held.forecasts, season)


class Objective:
    """What Optuna calls per trial: the trial's validation score (NaN when it failed)."""

    def __init__(
        self,
        space: Space,
        base: ForecasterConfig,
        data: SearchData,
        settings: TuneSettings,
        deadline: float | None,
        log_dir: Path | None,
    ) -> None:
        self.space, self.base, self.data, self.settings = space, base, data, settings
        self.deadline, self.log_dir = deadline, log_dir

    def __call__(self, trial: optuna.Trial) -> float:
        data, metric = self.data, self.settings.metric
        reporter = Reporter(trial, self.deadline, prune=not self.settings.no_pruning)
        logger = None
        if self.log_dir is not None:
            logger = TensorBoardLogger(self.log_dir / f"trial-{trial.number:03d}")
        start = time.perf_counter()
        try:
            params = self.space.suggest(trial)
            inner = data.folds[0][0]  # the latest fold's fitting part
            config = trial_config(self.base, params, data.series, inner, data.horizon_size)
            trial.set_user_attr("options", trial_options(params, config))
            trial.set_user_attr("family", family(config))

            def callbacks(k: int) -> list[object]:
                reporter.reporting = k == 0  # the first fold reports and may be pruned
                return [reporter] + ([logger] if logger and k == 0 else [])

            scores = validate(self.base, params, data, callbacks)
        except optuna.TrialPruned as stop:
            trial.set_user_attr("note", str(stop))
            raise
        except UserError as err:  # these options cannot train on this data, or diverged
            trial.set_user_attr("note", "failed: " + " ".join(str(err).split()))
            return math.nan
        finally:
            trial.set_user_attr("seconds", time.perf_counter() - start)
            trial.set_user_attr("epochs", reporter.epochs)
            if logger is not None:
                logger.close()
        trial.set_user_attr("scores", {name: scores.get(name) for name in METRICS})
        value = scores.get(metric)
        if value is None or not math.isfinite(value):
            trial.set_user_attr("note", f"failed: the validation {metric} is undefined")
            return math.nan
        if logger is not None:
            logger.scalar(f"tune/val_{metric}", value)
            logger.close()
        return float(value)


def trial_options(params: dict[str, Any], config: ForecasterConfig) -> dict[str, Any]:
    """The forecaster options a trial sets: its window factor as the window it gave, except
    1 (the model's own choice, left to the model: on more data it may choose longer)."""
    options = {k: v for k, v in params.items() if k != "window_factor"}
    if params.get("window_factor", 1.0) != 1.0:
        options["window"] = config.forecast.window
    return options


def validate(
    base: ForecasterConfig,
    params: dict[str, Any],
    data: SearchData,
    callbacks: Callable[[int], list[object]],
) -> dict[str, float | None]:
    """``base`` with a trial's values, fitted and scored in every fold (``callbacks(k)``: the
    training callbacks of fold ``k``): each metric's mean over the folds."""
    per_fold = []
    for k, (inner, n_val) in enumerate(data.folds):
        config = trial_config(base, params, data.series, inner, data.horizon_size)
        scores = fit_and_score(
            config, data.series, data.columns, inner, n_val, data.season, callbacks(k)
        )
        per_fold.append(scores["model"])
    return mean_scores(per_fold)


def mean_scores(per_fold: list[dict[str, Any]]) -> dict[str, float | None]:
    """Each metric's mean over the folds (None if undefined in any)."""
    means: dict[str, float | None] = {}
    for name in METRICS:
        values = [fold.get(name) for fold in per_fold]
        defined = all(v is not None and math.isfinite(v) for v in values)
        means[name] = float(np.mean(values)) if defined else None  # type: ignore[arg-type]
    return means
