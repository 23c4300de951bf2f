"""Callbacks: what differs per application, seen from inside ``fit`` without changing it.

A callback is any object with some of these methods (each optional; :class:`Callback` gives
no-op defaults to subclass). ``fit`` calls them on every process; check ``run.context.rank`` to
act once. They read the run and must not change the weights, the optimiser or the random
states (that would break bit-exact resume).

- ``on_step(run, step)``: after every optimiser step, with :class:`StepEnd` (loss, lr, gradient
  norm): enough for TensorBoard scalars or a custom progress line.
- ``on_epoch(run, record)``: after every epoch's validation, with its :class:`EpochRecord`.
- ``on_end(run)``: once, after the last epoch (not when a signal or divergence stops training).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rnnkit.training.history import EpochRecord

if TYPE_CHECKING:
    from rnnkit.training.state import TrainingRun


@dataclass(frozen=True)
class StepEnd:
    """One optimiser step, as a callback sees it."""

    epoch: int  # 0-based epoch under way
    step: int  # 1-based step within the epoch
    loss: float  # this process's batch loss
    lr: float  # the learning rate of the step
    grad_norm: float | None  # global gradient norm before clipping (None when not clipping)


class Callback:
    """Base class with no-op hooks; override the ones you need."""

    def on_step(self, run: TrainingRun, step: StepEnd) -> None:
        """After every optimiser step."""

    def on_epoch(self, run: TrainingRun, record: EpochRecord) -> None:
        """After every epoch (training pass, validation, checkpoint)."""

    def on_end(self, run: TrainingRun) -> None:
        """After the last epoch."""


def call(callbacks: Sequence[object], hook: str, *args: object) -> None:
    """Call ``hook`` on every callback that has it, in order."""
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)
