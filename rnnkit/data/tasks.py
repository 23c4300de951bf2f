"""Synthetic benchmark tasks that separate the cells: short memory, long memory, recall.

* ``sine``: the tutorial's series (windows of ``length`` past values predict the next). Short
  memory: the next value follows from the last two. Trivial baseline: repeat the last value.
* ``adding``: the adding problem (Hochreiter & Schmidhuber 1997, experiment 4; in the form of
  Le, Jaitly & Hinton 2015, section 4.1). Input (length, 2): channel 0 holds values U(0, 1),
  channel 1 is a marker with exactly two 1s, one in each half; the target is the sum of the two
  marked values. Trivial baseline: always predict 1.0 (the target's mean), MSE about 1/6.
* ``copy``: delayed recall. Input (length, symbols + 1): a one-hot symbol at every step, all
  random; channel ``symbols`` marks step 0. The target is the symbol seen at step 0, after
  ``length - 1`` distracting symbols. Metric: error rate; trivial baseline: always predict the
  training set's most frequent symbol (error about 1 - 1/symbols).

Every generator draws from its own ``torch.Generator`` (seeded), builds all samples at once (no
Python loop over samples), and the sets are independent draws split at fixed positions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.data.sine import sine_windows
from rnnkit.data.windows import Examples
from rnnkit.errors import UserError, unknown
from rnnkit.metrics import last_value_forecast, mse
from rnnkit.training import LossFn, classification_loss, regression_loss

__all__ = [
    "TASKS",
    "TaskData",
    "TaskSizes",
    "adding_problem",
    "delayed_recall",
    "make_task",
]

# A run is "solved" when its test metric is at most this fraction of the trivial baseline's.
SOLVED_FRACTION = 0.1


def adding_problem(n: int, length: int, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` adding-problem sequences: x (n, length, 2) and the sum of marked values y (n, 1)."""
    if length < 2:
        raise UserError(
            f"the adding problem needs --length >= 2 (one marker per half), got {length}"
        )
    gen = torch.Generator().manual_seed(seed)
    values = torch.rand(n, length, generator=gen)  # (n, length), U(0, 1)
    half = length // 2  # first half [0, half), second half [half, length)
    first = torch.randint(0, half, (n, 1), generator=gen)  # (n, 1)
    second = torch.randint(half, length, (n, 1), generator=gen)  # (n, 1)
    markers = torch.zeros(n, length).scatter_(1, torch.cat([first, second], 1), 1.0)
    x = torch.stack([values, markers], dim=-1)  # (n, length, 2)
    y = (values * markers).sum(dim=1, keepdim=True)  # (n, 1)
    return x, y


def delayed_recall(
    n: int, length: int, *, symbols: int = 8, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """``n`` recall sequences: x (n, length, symbols + 1) one-hot; y (n,) the symbol at step 0."""
    if length < 1:
        raise UserError(f"the copy task needs --length >= 1, got {length}")
    if symbols < 2:
        raise UserError(f"the copy task needs at least 2 symbols, got {symbols}")
    gen = torch.Generator().manual_seed(seed)
    drawn = torch.randint(0, symbols, (n, length), generator=gen)  # (n, length)
    x = F.one_hot(drawn, symbols + 1).float()  # (n, length, symbols + 1); last channel unused
    x[:, 0, symbols] = 1.0  # the marker: "remember this one"
    return x, drawn[:, 0].clone()  # (n,) class indices


def error_rate(y_true: Tensor, logits: Tensor) -> float:
    """Fraction of examples whose arg-max class is wrong."""
    return float((logits.argmax(dim=-1) != y_true).float().mean())


@dataclass(frozen=True)
class TaskSizes:
    """How many independent sequences each set of a synthetic task holds."""

    train: int = 4000  # training sequences
    val: int = 1000  # validation sequences (early stopping)
    test: int = 1000  # test sequences (the reported metric)

    def __post_init__(self) -> None:
        if min(self.train, self.val, self.test) < 1:
            raise UserError(f"every set needs at least one sequence, got {self}")


@dataclass
class TaskData:
    """One task's data split three ways, with how it is scored and its trivial baseline."""

    name: str  # e.g. "adding"
    length: int  # sequence length T
    train: Examples
    val: Examples
    test: Examples
    input_size: int  # features per step
    output_size: int  # model outputs (1 for regression, classes for classification)
    loss_fn: LossFn  # what training minimises
    metric_name: str  # "mse" or "error rate": lower is better
    metric: Callable[[Tensor, Tensor], float]  # (targets, model outputs) -> metric
    baseline_name: str  # what the trivial baseline does
    baseline: float  # the trivial baseline's test metric
    baseline_loss: float  # the trivial baseline's loss on validation (drawn on learning curves)

    @property
    def solved_below(self) -> float:
        """The test metric a run must reach to count as solved."""
        return SOLVED_FRACTION * self.baseline


def _split_independent(
    x: Tensor, y: Tensor, sizes: TaskSizes
) -> tuple[Examples, Examples, Examples]:
    """Fixed positions: the first ``train`` draws train, the next ``val`` validate, then test."""
    examples = Examples(x, y)
    a, b = sizes.train, sizes.train + sizes.val
    return (
        examples.subset(slice(0, a)),
        examples.subset(slice(a, b)),
        examples.subset(slice(b, None)),
    )


def _mse(y_true: Tensor, y_pred: Tensor) -> float:
    return mse(y_true, y_pred.reshape(y_true.shape))


def sine_task(length: int, sizes: TaskSizes, seed: int) -> TaskData:
    """The tutorial's sine (1000 points, 80/20 chronological split, validation tail)."""
    if length < 1:
        raise UserError(f"the sine task needs --length >= 1 (the window), got {length}")
    train, val, test = sine_windows(1000, length)  # the tutorial's data and split
    last = {
        name: _mse(s.tensors()[1], torch.as_tensor(last_value_forecast(s.tensors()[0])))
        for name, s in (("val", val), ("test", test))
    }
    return TaskData(
        name="sine",
        length=length,
        train=train,
        val=val,
        test=test,
        input_size=1,
        output_size=1,
        loss_fn=regression_loss,
        metric_name="mse",
        metric=_mse,
        baseline_name="repeat the last value",
        baseline=last["test"],
        baseline_loss=last["val"],
    )


def adding_task(length: int, sizes: TaskSizes, seed: int) -> TaskData:
    """The adding problem; the baseline predicts 1.0 for every sequence."""
    x, y = adding_problem(sizes.train + sizes.val + sizes.test, length, seed=seed)
    train, val, test = _split_independent(x, y, sizes)

    def constant(part: Examples) -> float:
        targets = part.tensors()[1]
        return _mse(targets, torch.ones_like(targets))

    return TaskData(
        name="adding",
        length=length,
        train=train,
        val=val,
        test=test,
        input_size=2,
        output_size=1,
        loss_fn=regression_loss,
        metric_name="mse",
        metric=_mse,
        baseline_name="always predict 1.0",
        baseline=constant(test),
        baseline_loss=constant(val),
    )


def copy_task(length: int, sizes: TaskSizes, seed: int, symbols: int = 8) -> TaskData:
    """Delayed recall; the baseline predicts the training set's most frequent symbol."""
    x, y = delayed_recall(sizes.train + sizes.val + sizes.test, length, symbols=symbols, seed=seed)
    train, val, test = _split_independent(x, y, sizes)
    counts = torch.bincount(train.tensors()[1], minlength=symbols).double()
    mode = int(counts.argmax())

    def constant(part: Examples) -> tuple[float, float]:
        targets = part.tensors()[1]
        logits = F.one_hot(torch.full_like(targets, mode), symbols).float()
        # the best constant distribution for cross-entropy: the training frequencies
        log_p = torch.log(counts / counts.sum()).float().expand(len(targets), -1)
        return error_rate(targets, logits), float(F.nll_loss(log_p, targets))

    return TaskData(
        name="copy",
        length=length,
        train=train,
        val=val,
        test=test,
        input_size=symbols + 1,
        output_size=symbols,
        loss_fn=classification_loss,
        metric_name="error rate",
        metric=error_rate,
        baseline_name=f"always predict symbol {mode} (the most frequent)",
        baseline=constant(test)[0],
        baseline_loss=constant(val)[1],
    )


# name -> (builder, default length, one-line description)
TASKS: dict[str, tuple[Callable[[int, TaskSizes, int], TaskData], int, str]] = {
    "sine": (sine_task, 10, "the tutorial's sine: next value from a window (short memory)"),
    "adding": (adding_task, 100, "sum the two marked values of a long sequence (long memory)"),
    "copy": (copy_task, 50, "recall the symbol seen at step 0 after length-1 distractors"),
}


def make_task(
    name: str, length: int | None = None, *, sizes: TaskSizes | None = None, seed: int = 1234
) -> TaskData:
    """Task ``name`` at ``length`` (None: the task's default), its data drawn with ``seed``."""
    if name not in TASKS:
        raise unknown("task", name, TASKS)
    builder, default_length, _ = TASKS[name]
    length = default_length if length is None else length
    if length < 1:
        raise UserError(f"--length must be a positive integer, got {length}")
    return builder(length, sizes or TaskSizes(), seed)
