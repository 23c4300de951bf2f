"""One optimiser step, evaluation, precision and devices: the loop's small parts.

A *batch source* (anything with ``iter_batches`` and ``len``) serves batches."""

from __future__ import annotations

import contextlib
import importlib
import math
import sys
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

import torch
from torch import nn

from rnnkit.errors import UserError, unknown
from rnnkit.training import distributed
from rnnkit.training.config import PRECISIONS, TrainConfig
from rnnkit.training.distributed import Context
from rnnkit.training.losses import Batch, LossFn, regression_loss
from rnnkit.training.state import TrainingDiverged


class BatchSource(Protocol):
    """What the loop trains on: a sized collection that yields batches of tensors."""

    def __len__(self) -> int: ...

    def iter_batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[Batch]: ...


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


class StepResult(NamedTuple):
    """What one optimiser step reports."""

    loss: float  # the batch loss (this process)
    grad_norm: float | None  # global gradient norm before clipping; None without clipping


def train_step(
    model: nn.Module,
    batch: Batch,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    clip_norm: float,
    *,
    autocast: bool = False,
    context: Context | None = None,
) -> StepResult:
    """One optimiser step on one batch; returns the batch loss and the gradient norm.

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
    norm = None
    if clip_norm > 0:
        norm = float(nn.utils.clip_grad_norm_(model.parameters(), clip_norm))
        if not math.isfinite(norm):  # the same on every process: gradients are averaged
            raise TrainingDiverged(f"the gradient norm became {norm}")
    optimizer.step()
    return StepResult(value, norm)


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


def compiled(model: nn.Module, config: TrainConfig) -> nn.Module:
    """``torch.compile(model)`` when asked for and supported here."""
    if not config.compile:
        return model
    try:
        supported = importlib.import_module("torch._dynamo").is_dynamo_supported()
    except (ImportError, AttributeError):
        supported = False
    if not supported or not hasattr(torch, "compile"):
        raise UserError(
            f"--compile: torch.compile is not supported by torch {torch.__version__} on "
            f"Python {sys.version.split()[0]}; drop --compile"
        )
    result: nn.Module = torch.compile(model)  # type: ignore[assignment]
    return result
