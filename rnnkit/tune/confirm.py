"""Confirmation: the search's best trials and the defaults, scored again with other seeds.

A search scores each configuration once, with one seed, and keeps the lowest score: the
winner is the configuration that was good *or lucky*. Unstable configurations (a high learning
rate, say) win that way and then lose on the test part with the next seed. So the ``confirm``
best trials of the search and trial 0 (the defaults) are fitted again on the validation folds
with ``--seed + 1`` and ``--seed + 2``, and the configuration chosen is the one with the lowest
mean over the three seeds. Trial 0 goes first, so that what is chosen has always been compared
with the defaults; when the time budget ends the confirmation, the candidates not yet scored
with every seed are left out of the choice.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from rnnkit.errors import UserError
from rnnkit.forecasting.config import ForecasterConfig
from rnnkit.tune.settings import TuneSettings
from rnnkit.tune.trials import Reporter, SearchData, validate

log = logging.getLogger(__name__)

EXTRA_SEEDS = 2  # seeds added to the search's own


@dataclass
class Confirmed:
    """One candidate's validation scores: the search's, then one per extra seed."""

    trial: int
    values: list[float]

    @property
    def complete(self) -> bool:
        return len(self.values) == 1 + EXTRA_SEEDS and all(map(math.isfinite, self.values))

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.complete else math.inf


def candidates(trials: list[Any], count: int) -> list[Any]:
    """Trial 0 (if it completed), then the ``count`` best other complete trials."""
    done = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    ranked = sorted(done, key=lambda t: (t.value, t.number))
    first = [t for t in done if t.number == 0]
    return first + [t for t in ranked if t.number != 0][:count]


def confirm(
    trials: list[Any],
    base: ForecasterConfig,
    data: SearchData,
    settings: TuneSettings,
    deadline: float | None,
) -> list[Confirmed]:
    """Score the candidates with the extra seeds, until done or the ``deadline``."""
    results = []
    watch: list[object] = [Reporter(None, deadline, prune=False)]  # only the clock
    for trial in candidates(trials, settings.confirm):
        result = Confirmed(trial.number, [float(trial.value)])
        try:
            for extra in range(1, EXTRA_SEEDS + 1):
                params = {**trial.params, "seed": base.train.seed + extra}
                scores = validate(base, params, data, lambda k: watch)
                value = scores.get(settings.metric)
                result.values.append(math.nan if value is None else float(value))
        except optuna.TrialPruned:  # the time budget is spent
            log.info("confirmation stopped by the time budget at trial %d", trial.number)
            break
        except UserError:  # diverged with this seed: not a candidate
            result.values.append(math.nan)
        results.append(result)
        shown = ", ".join(f"{v:.4g}" for v in result.values)
        log.info("confirm trial %d: %s over seeds -> mean %.4g", trial.number, shown, result.mean)
    return results


def chosen(results: list[Confirmed], search_best: int) -> int:
    """The trial with the lowest mean over seeds (the search's best if none is complete)."""
    complete = [r for r in results if r.complete]
    if not complete:
        return search_best
    return min(complete, key=lambda r: (r.mean, r.trial)).trial
