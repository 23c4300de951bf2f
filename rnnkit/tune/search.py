"""The study: a seeded TPE search under a trial or time budget, then the two final fits.

The first trial runs the configuration without search (the defaults, with the options the user
fixed), so the best trial is never worse than it on the validation points. After the search,
the best configuration and that baseline are each fitted on the whole training part and scored
once on the test part. ``--seed`` seeds the sampler and every fit: with a trial budget the
search repeats exactly; a time budget stops where the clock says.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from rnnkit.config import override
from rnnkit.data.io import season_length
from rnnkit.errors import UserError
from rnnkit.forecasting.config import ForecasterConfig, horizon_for_test
from rnnkit.forecasting.frames import holdout_lengths
from rnnkit.training.tensorboard import tensorboard_callbacks
from rnnkit.tune.settings import SEARCH_SHARE, TuneSettings
from rnnkit.tune.space import Space, trial_config

log = logging.getLogger(__name__)

MISSING = "rnnkit tune needs optuna: pip install 'rnnkit[tune]'"


def require_optuna() -> ModuleType:
    """The optuna module; a one-line UserError when it is not installed."""
    try:
        import optuna
    except ImportError:
        raise UserError(MISSING) from None
    return optuna


def search_data(
    data: Any, settings: TuneSettings, test_size: int | float, space: Space, base: ForecasterConfig
) -> Any:
    """The training part of ``data`` (a runner ``TrainingData``) cut for the search, checked:
    the defaults must train on the first part (a UserError says what is too short)."""
    from rnnkit.tune.trials import SearchData  # needs optuna

    val_size: int | float | None = settings.val_size
    if val_size is None:  # half the test size: trials fit on nearly what the final fit has
        if not test_size:
            raise UserError("with --test-size 0 give the validation points: --val-size N")
        val_size = test_size / 2 if isinstance(test_size, float) else max(1, test_size // 2)
    horizon = test_size or val_size  # trials are the final model (its horizon), on less data
    n_val = holdout_lengths(data.lengths, val_size)
    step = -(-n_val // 2)  # folds half a validation part apart
    folds = []
    for k in range(settings.val_folds):
        inner = data.lengths - n_val - k * step
        if (inner < 2).any() or (n_val < 1).any():
            raise UserError(
                f"a series' training part ({int(np.min(data.lengths))} points) leaves nothing "
                f"to fit on in validation fold {k + 1} ({int(np.max(n_val))} validation "
                "points); use a smaller --val-size or fewer --val-folds"
            )
        try:
            trial_config(base, space.defaults(base), data.series, inner, horizon)
        except UserError as err:
            raise UserError(
                f"validation fold {k + 1}, the training part cut {int(np.max(n_val + k * step))}"
                f" points short: {err}; use a smaller --val-size or fewer --val-folds"
            ) from None
        folds.append((inner, n_val))
    season = base.forecast.season or season_length(data.series.freq) or 1
    return SearchData(data.series, data.columns, folds, horizon, season)


@dataclass
class Outcome:
    """What the search found, and the final fits' test scores (None with no test part)."""

    trials: list[Any]  # Optuna FrozenTrials, in order
    best: Any  # the chosen trial (by the confirmation's mean, else the search's score)
    search_best: Any  # the trial with the search's best single score
    seconds: float
    options: dict[str, Any]  # the chosen configuration's options (fixed ones included)
    confirmed: list[Any] = field(default_factory=list)  # confirm.Confirmed, per candidate
    test: dict[str, Any] = field(default_factory=dict)  # "best", "defaults" -> report


def run_search(
    space: Space,
    base: ForecasterConfig,
    data: Any,
    settings: TuneSettings,
    *,
    log_dir: Path | None = None,
    after_trial: Callable[[list[Any]], None] = lambda trials: None,
) -> Outcome:
    """Run the study on ``data`` (:class:`~rnnkit.tune.trials.SearchData`)."""
    optuna = require_optuna()
    from rnnkit.tune.confirm import chosen, confirm
    from rnnkit.tune.pruner import FamilyMedianPruner
    from rnnkit.tune.trials import Objective

    def report(study: Any, trial: Any) -> None:
        trials = study.get_trials(deepcopy=False)
        log.info("%s", describe(trial, trials, settings.metric))
        after_trial(trials)

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # rnnkit says one line per trial
    try:
        pruner = optuna.pruners.NopPruner() if settings.no_pruning else FamilyMedianPruner()
        sampler = optuna.samplers.TPESampler(seed=base.train.seed)
        study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
        study.enqueue_trial(space.defaults(base))
        start = time.monotonic()
        budget = settings.time_budget
        share = SEARCH_SHARE if settings.confirm else 1.0
        searching = budget * share if budget else None
        deadline = start + searching if searching else None
        objective = Objective(space, base, data, settings, deadline, log_dir)
        study.optimize(
            objective, n_trials=settings.trial_limit(), timeout=searching, callbacks=[report]
        )
    finally:
        optuna.logging.set_verbosity(verbosity)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise UserError("no trial completed; give a longer --time-budget or more --trials")
    trials = study.trials
    confirmed = []
    if settings.confirm:
        confirmed = confirm(trials, base, data, settings, start + budget if budget else None)
    best = trials[chosen(confirmed, study.best_trial.number)]
    options = {**space.fixed, **best.user_attrs["options"]}
    seconds = time.monotonic() - start
    return Outcome(trials, best, study.best_trial, seconds, options, confirmed)


def describe(trial: Any, trials: list[Any], metric: str) -> str:
    """One line per finished trial: what it tried and how it ended."""
    options = ", ".join(f"{k}={_short(v)}" for k, v in trial.user_attrs.get("options", {}).items())
    seconds = trial.user_attrs.get("seconds", 0.0)
    if trial.value is not None and trial.state.name == "COMPLETE":
        done = [t.value for t in trials if t.state.name == "COMPLETE" and t.value is not None]
        ended = f"{metric} {trial.value:.4g} (best {min(done):.4g})"
    else:
        ended = trial.user_attrs.get("note", trial.state.name.lower())
    return f"trial {trial.number}: {options or 'defaults'}: {ended} [{seconds:.1f} s]"


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def final_fits(
    outcome: Outcome,
    base: ForecasterConfig,
    data: Any,
    test_size: int | float,
    season: int,
    log_dir: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """The best configuration and the defaults, each fitted on the whole training part of
    ``data`` (a runner ``TrainingData``) and scored once on the test part."""
    from rnnkit.tune.trials import fit_and_score

    n_test = np.diff(data.series.offsets) - data.lengths
    configs = {"best": override(base, outcome.options), "defaults": base}
    results: dict[str, dict[str, Any]] = {}
    for name, config in configs.items():
        if name == "defaults" and outcome.best.number == 0:  # the defaults won: fitted already
            results[name] = results["best"]
            continue
        config = horizon_for_test(config, test_size)
        callbacks = tensorboard_callbacks(log_dir / name if log_dir else None)
        results[name] = fit_and_score(
            config, data.series, data.columns, data.lengths, n_test, season, callbacks
        )
    return results
