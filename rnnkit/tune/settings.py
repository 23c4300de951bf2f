"""The options of a search (``rnnkit tune``'s search flags, generated from this dataclass)."""

from __future__ import annotations

from dataclasses import dataclass

from rnnkit.config import non_negative_int, option, positive_float, positive_int

METRICS = ("mase", "smape", "mape", "mae", "rmse")
DEFAULT_TRIALS = 30  # without --trials and --time-budget
SEARCH_SHARE = 0.7  # of a time budget, with confirmation: the rest confirms


@dataclass
class TuneSettings:
    """How long to search, and what a trial is scored on."""

    trials: int | None = option(
        None,
        f"trials to run at most (default: {DEFAULT_TRIALS}, or as many as --time-budget allows)",
        type=positive_int,
    )
    time_budget: float | None = option(
        None,
        "seconds for the search and its confirmation: no trial starts after 70% of it, the "
        "confirmation stops at its end (the two final fits come after it)",
        type=positive_float,
    )
    val_size: int | None = option(
        None,
        "validation points at the end of each series' training part (default: half the test "
        "size; a fractional test size: half that share of the training part)",
        type=positive_int,
    )
    val_folds: int = option(
        2,
        "validation cut-offs, each half a validation part before the next; a trial's score "
        "is its mean over them",
        type=positive_int,
    )
    metric: str = option("mase", "validation score to minimise", choices=METRICS)
    confirm: int = option(
        3,
        "score the N best trials and the defaults again with two more seeds and choose by the "
        "mean of the three (0: choose by the search's single scores)",
        type=non_negative_int,
    )
    no_pruning: bool = option(False, "run every trial to its end (no pruning)")

    def trial_limit(self) -> int | None:
        """The number of trials to stop at (None: only the time budget stops the search)."""
        if self.trials is None and self.time_budget is None:
            return DEFAULT_TRIALS
        return self.trials
