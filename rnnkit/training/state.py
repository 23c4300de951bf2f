"""Where one call of ``fit`` stands: its pieces, its position, and the divergence error."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.errors import UserError
from rnnkit.training.config import TrainConfig
from rnnkit.training.distributed import Context, max_over_ranks
from rnnkit.training.history import History
from rnnkit.training.interrupts import StopSignals
from rnnkit.training.losses import LossFn
from rnnkit.training.optim import Schedule


class TrainingDiverged(UserError):
    """The loss (or the gradient norm) became NaN or infinite."""


@dataclass
class LoopState:
    """Where training stands: what a checkpoint records and a resume restores."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimiser steps done in the epoch under way
    loss_sum: float = 0.0  # example-weighted training loss so far in that epoch
    loss_count: int = 0  # examples so far in that epoch
    seconds: float = 0.0  # training seconds so far in that epoch
    history: History = field(default_factory=History)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopState:
        fields = {k: data[k] for k in ("epoch", "step", "loss_sum", "loss_count", "seconds")}
        return cls(**fields, history=History.from_dict(data["history"]))

    def position(self) -> str:
        """Where a checkpoint of this state stands, in words."""
        if self.step == 0:
            return f"end of epoch {self.epoch}" if self.epoch else "start"
        return f"epoch {self.epoch + 1}, step {self.step}"


@dataclass(kw_only=True)
class TrainingRun:
    """One call of :func:`fit`: the pieces that every stanza of the loop needs."""

    model: nn.Module  # the caller's model: evaluated, checkpointed, returned trained
    train_model: nn.Module  # what the steps run: the model, DDP- and/or compile-wrapped
    optimizer: torch.optim.Optimizer
    loss_fn: LossFn
    config: TrainConfig
    context: Context  # rank, world size and device
    autocast: bool  # bf16 autocast on for forward passes
    run_dir: Path | None  # where checkpoints go (None: nowhere)
    checkpoint_every: int  # steps between mid-epoch checkpoints (0: epoch ends only)
    resume_hint: str | None  # how to resume, said when a signal stops training
    schedule: Schedule  # (epoch, config) -> learning rate
    callbacks: Sequence[object] = ()  # see rnnkit.training.callbacks
    train_data: object = None  # checkpointed when it has state_dict/load_state_dict (JSON)
    stop: StopSignals = field(default_factory=StopSignals)
    state: LoopState = field(default_factory=LoopState)
    best: dict[str, Tensor] | None = None  # weights at the best validation loss
    deadline: float = math.inf  # time.perf_counter() at which the time budget ends
    saved_at: str = ""  # the position of the last checkpoint written ("" before any)

    def out_of_time(self) -> bool:
        """Whether the time budget (``config.max_minutes``) is spent; every process agrees."""
        if self.deadline == math.inf:
            return False
        return bool(max_over_ranks(int(time.perf_counter() > self.deadline), self.context))


def diverged_error(run: TrainingRun, reason: str, epoch: int, step: int) -> TrainingDiverged:
    """The one-line message: where it happened, what was kept, what to change."""
    if run.run_dir is None:
        kept = "nothing was saved (no run folder)"
    elif run.saved_at:
        kept = f"the last good checkpoint ({run.saved_at}) in '{run.run_dir}' is kept"
    else:
        kept = "no checkpoint had been written yet"
    return TrainingDiverged(
        f"training diverged: {reason} at epoch {epoch + 1}, step {step + 1}; {kept}; "
        f"try a lower --lr (e.g. {run.config.lr / 10:g}), gradient clipping (--clip 1.0), "
        "or scaled data (standardise inputs and targets)"
    )
