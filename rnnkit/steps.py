"""The fit loop's parts: its config, its history, one optimiser step, evaluation, the schedule.

Each is small and replaceable; :mod:`rnnkit.train` strings them into ``fit`` (and re-exports them,
so ``from rnnkit.train import TrainConfig, evaluate`` is the usual spelling). A *loss function*
``loss_fn(model, batch) -> scalar`` does the forward pass (as ``model(...)``, so that
DistributedDataParallel sees it) and the loss; a *batch source* (anything with ``iter_batches``
and ``len``) serves batches. A stateful loss function (truncated BPTT carrying the hidden state
across batches) may define ``start_epoch()``, called before every training pass and every
evaluation pass, to reset it, and ``state_dict()``/``load_state_dict()`` to have that state
checkpointed.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit import distributed
from rnnkit.distributed import Context
from rnnkit.errors import UserError, unknown
from rnnkit.interrupts import StopSignals

Batch = tuple[Tensor, ...]
LossFn = Callable[[nn.Module, Batch], Tensor]
PRECISIONS = ("auto", "fp32", "bf16")


class BatchSource(Protocol):
    """What the loop trains on: a sized collection that yields batches of tensors."""

    def __len__(self) -> int: ...

    def iter_batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[Batch]: ...


@dataclass
class TrainConfig:
    """Optimisation settings (saved with every run)."""

    epochs: int = 100  # upper bound; early stopping usually ends sooner
    batch_size: int = 32  # examples per optimiser step (global: split across torchrun processes)
    lr: float = 3e-3  # Adam's peak learning rate
    min_lr_ratio: float = 0.01  # the cosine schedule decays lr to lr * min_lr_ratio
    warmup_epochs: int = 0  # linear warm-up before the cosine decay
    weight_decay: float = 0.0  # AdamW-style decoupled weight decay
    clip_norm: float = 1.0  # max global gradient norm; 0 disables clipping
    patience: int = 20  # epochs without validation improvement before stopping; 0 disables
    seed: int = 0  # fixes every random source (python, numpy, torch, the sample order)
    progress: bool = True  # show a progress bar on stderr
    log_every: int = 10  # print a loss line every N epochs (0: never), as the tutorial does
    precision: str = "auto"  # "auto" (bf16 autocast on CUDA, fp32 elsewhere), "fp32" or "bf16"
    compile: bool = False  # torch.compile the model for training (mostly helps on GPUs)


@dataclass
class EpochRecord:
    """One epoch of history, as plain data."""

    epoch: int
    train_loss: float
    val_loss: float | None
    lr: float
    seconds: float


@dataclass
class History:
    """The per-epoch records and the outcome of early stopping."""

    records: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float | None = None
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        records = [EpochRecord(**r) for r in data.get("records", [])]
        return cls(
            records=records,
            best_epoch=int(data.get("best_epoch", 0)),
            best_val_loss=data.get("best_val_loss"),
            stopped_early=bool(data.get("stopped_early", False)),
        )

    @property
    def train_seconds(self) -> float:
        return sum(r.seconds for r in self.records)


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


@dataclass
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
    stop: StopSignals = field(default_factory=StopSignals)
    state: LoopState = field(default_factory=LoopState)
    best: dict[str, Tensor] | None = None  # weights at the best validation loss
    saved_at: str = ""  # the position of the last checkpoint written ("" before any)


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


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a generator seeded alike."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def regression_loss(model: nn.Module, batch: Batch) -> Tensor:
    """Mean squared error of ``model(x)`` against ``y`` (flattened to the model's output)."""
    x, y = batch
    prediction = model(x)  # (batch, outputs)
    return F.mse_loss(prediction, y.reshape(prediction.shape))


def classification_loss(model: nn.Module, batch: Batch) -> Tensor:
    """Cross-entropy of ``model(*inputs)`` logits (batch, classes) against class ids (batch,).

    The batch is ``(*inputs, y)``: ``(x, y)``, or ``(x, lengths, y)`` for a packed model.
    """
    *inputs, y = batch
    return F.cross_entropy(model(*inputs), y)


def cosine_lr(epoch: int, config: TrainConfig) -> float:
    """Learning rate for ``epoch``: linear warm-up, then cosine decay to lr * min_lr_ratio."""
    if epoch < config.warmup_epochs:
        return config.lr * (epoch + 1) / config.warmup_epochs
    span = max(1, config.epochs - config.warmup_epochs)
    progress = min(1.0, (epoch - config.warmup_epochs) / span)
    floor = config.lr * config.min_lr_ratio
    return floor + 0.5 * (config.lr - floor) * (1 + math.cos(math.pi * progress))


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether forward passes run under bf16 autocast: 'auto' means on CUDA only."""
    if precision not in PRECISIONS:
        raise unknown("precision", precision, PRECISIONS)
    if precision == "auto":
        return device.type == "cuda" and torch.cuda.is_bf16_supported()
    if precision == "bf16" and device.type not in ("cpu", "cuda"):
        raise UserError(f"--precision bf16 works on cpu and cuda, not on {device.type}")
    return precision == "bf16"


def _autocast(enabled: bool, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _start_pass(loss_fn: LossFn) -> None:
    """Let a stateful loss function reset its carried state (see the module docstring)."""
    start_epoch = getattr(loss_fn, "start_epoch", None)
    if callable(start_epoch):
        start_epoch()


def to_device(batch: Batch, device: torch.device) -> Batch:
    return tuple(t.to(device, non_blocking=True) for t in batch)


def train_step(
    model: nn.Module,
    batch: Batch,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    clip_norm: float,
    *,
    autocast: bool = False,
    context: Context | None = None,
) -> float:
    """One optimiser step on one batch; returns the batch loss.

    A non-finite loss (on any process) or gradient norm raises TrainingDiverged *before* the
    optimiser step, so the weights keep their last finite values.
    """
    device = next(model.parameters()).device
    optimizer.zero_grad(set_to_none=True)
    with _autocast(autocast, device):
        loss = loss_fn(model, batch)  # scalar
    value = float(loss.detach())
    bad = distributed.max_over_ranks(
        int(not math.isfinite(value)), context or Context(0, 1, device)
    )
    if bad:  # every process stops together, before backward (DDP would wait for the others)
        shown = value if not math.isfinite(value) else "nan on another process"
        raise TrainingDiverged(f"the training loss became {shown}")
    loss.backward()
    if clip_norm > 0:
        norm = float(nn.utils.clip_grad_norm_(model.parameters(), clip_norm))
        if not math.isfinite(norm):  # the same on every process: gradients are averaged
            raise TrainingDiverged(f"the gradient norm became {norm}")
    optimizer.step()
    return value


def _eval_sums(
    model: nn.Module,
    data: BatchSource,
    loss_fn: LossFn,
    batch_size: int,
    autocast: bool,
    context: Context,
) -> tuple[float, int]:
    """(sum of example losses, examples) over this process's share of ``data``."""
    model.eval()
    _start_pass(loss_fn)
    total, count = 0.0, 0
    for batch in data.iter_batches(batch_size):
        if context.world > 1:  # rows r, r + W, ... (no padding: each example counted once)
            batch = tuple(t[context.rank :: context.world] for t in batch)
        n = int(batch[0].shape[0])
        if n == 0:
            continue
        with _autocast(autocast, context.device):
            total += float(loss_fn(model, to_device(batch, context.device))) * n
        count += n
    return total, count


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    data: BatchSource,
    loss_fn: LossFn = regression_loss,
    *,
    batch_size: int = 1024,
    device: torch.device | None = None,
    autocast: bool = False,
    context: Context | None = None,
) -> float:
    """Example-weighted mean loss over ``data``, in eval mode (summed over every process)."""
    device = device or next(model.parameters()).device
    context = context or Context(0, 1, device)
    sums = _eval_sums(model, data, loss_fn, batch_size, autocast, context)
    total, count = distributed.all_reduce_sum([sums[0], sums[1]], context)
    return total / max(count, 1)
