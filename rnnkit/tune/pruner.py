"""The median rule, among trials of the same model family (imported once Optuna is there).

A trial reports, after every epoch, the validation loss the training loop computed (the
training loss where the model keeps no validation windows). Those losses compare only within
a family: the patch model's L1 of log values and the classic model's loss on normalised
windows are different numbers. So, like Optuna's ``MedianPruner``, a trial is stopped when its
best loss so far is worse than the median of the completed trials' best losses up to the same
epoch, but only the completed trials of its own family (``user_attrs["family"]``) count, and
only once ``startup`` of them exist and the trial has run ``warmup`` epochs.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

STARTUP = 4  # completed trials of the family before any of its trials is pruned
WARMUP = 5  # epochs a trial always runs


def best_up_to(trial: FrozenTrial, step: int) -> float | None:
    """The lowest intermediate value a trial reported at steps <= ``step`` (None: none)."""
    values = [v for s, v in trial.intermediate_values.items() if s <= step and math.isfinite(v)]
    return min(values) if values else None


class FamilyMedianPruner(optuna.pruners.BasePruner):
    """Prune a trial whose best loss so far is worse than its family's median (see above)."""

    def __init__(self, startup: int = STARTUP, warmup: int = WARMUP) -> None:
        self.startup, self.warmup = startup, warmup

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.warmup:
            return False
        mine = best_up_to(trial, step)
        if mine is None:  # only NaN so far: the loop stops a diverged run itself
            return False
        family = trial.user_attrs.get("family")
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        others = [
            value
            for other in done
            if other.user_attrs.get("family") == family
            and (value := best_up_to(other, step)) is not None
        ]
        if len(others) < self.startup:
            return False
        return mine > float(np.median(others))
