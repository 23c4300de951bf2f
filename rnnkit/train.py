"""The fit loop: mini-batches, Adam, gradient clipping, a schedule, early stopping.

``fit -> run_epoch -> train_step``, each small and replaceable. The loop knows nothing about
forecasting or text: a *loss function* ``loss_fn(model, batch) -> scalar`` does the forward pass
and the loss, and a *batch source* (anything with ``iter_batches`` and ``len``) serves batches.
A stateful loss function (truncated BPTT carrying the hidden state across batches) may define
``start_epoch()``, called before every training pass and every evaluation pass, to reset it.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from rnnkit.errors import UserError

Batch = tuple[Tensor, ...]
LossFn = Callable[[nn.Module, Batch], Tensor]


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
    batch_size: int = 32  # examples per optimiser step
    lr: float = 3e-3  # Adam's peak learning rate
    min_lr_ratio: float = 0.01  # the cosine schedule decays lr to lr * min_lr_ratio
    warmup_epochs: int = 0  # linear warm-up before the cosine decay
    weight_decay: float = 0.0  # AdamW-style decoupled weight decay
    clip_norm: float = 1.0  # max global gradient norm; 0 disables clipping
    patience: int = 20  # epochs without validation improvement before stopping; 0 disables
    seed: int = 0  # fixes every random source (python, numpy, torch)
    progress: bool = True  # show a progress bar on stderr
    log_every: int = 10  # print a loss line every N epochs (0: never), as the tutorial does


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
    """The loss became NaN or infinite."""


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a generator for batch shuffling."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def regression_loss(model: nn.Module, batch: Batch) -> Tensor:
    """Mean squared error of ``model(x)`` against ``y`` (flattened to the model's output)."""
    x, y = batch
    prediction = model(x)  # (batch, outputs)
    return F.mse_loss(prediction, y.reshape(prediction.shape))


def cosine_lr(epoch: int, config: TrainConfig) -> float:
    """Learning rate for ``epoch``: linear warm-up, then cosine decay to lr * min_lr_ratio."""
    if epoch < config.warmup_epochs:
        return config.lr * (epoch + 1) / config.warmup_epochs
    span = max(1, config.epochs - config.warmup_epochs)
    progress = min(1.0, (epoch - config.warmup_epochs) / span)
    floor = config.lr * config.min_lr_ratio
    return floor + 0.5 * (config.lr - floor) * (1 + math.cos(math.pi * progress))


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
) -> float:
    """One optimiser step on one batch; returns the batch loss."""
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model, batch)
    loss.backward()
    if clip_norm > 0:
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    return float(loss.detach())


def run_epoch(
    model: nn.Module,
    data: BatchSource,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    *,
    generator: torch.Generator,
    device: torch.device,
    epoch: int,
) -> float:
    """Train one pass over ``data``; returns the example-weighted mean loss."""
    model.train()
    _start_pass(loss_fn)
    total, count = 0.0, 0
    batches = data.iter_batches(config.batch_size, shuffle=True, generator=generator)
    for step, batch in enumerate(batches):
        loss = train_step(model, to_device(batch, device), loss_fn, optimizer, config.clip_norm)
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"the training loss became {loss} at epoch {epoch + 1}, step {step + 1}; "
                "lower --lr, keep gradient clipping on, or check the data's scale"
            )
        n = int(batch[0].shape[0])
        total, count = total + loss * n, count + n
    return total / max(count, 1)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    data: BatchSource,
    loss_fn: LossFn = regression_loss,
    *,
    batch_size: int = 1024,
    device: torch.device | None = None,
) -> float:
    """Example-weighted mean loss over ``data``, in eval mode."""
    device = device or next(model.parameters()).device
    model.eval()
    _start_pass(loss_fn)
    total, count = 0.0, 0
    for batch in data.iter_batches(batch_size):
        n = int(batch[0].shape[0])
        total += float(loss_fn(model, to_device(batch, device))) * n
        count += n
    return total / max(count, 1)


def fit(
    model: nn.Module,
    train: BatchSource,
    val: BatchSource | None,
    config: TrainConfig,
    *,
    loss_fn: LossFn = regression_loss,
    device: torch.device | None = None,
    desc: str = "train",
) -> History:
    """Train ``model`` with Adam(W); stop early on ``val`` and restore the best weights."""
    device = device or next(model.parameters()).device
    generator = seed_everything(config.seed)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    history = History()
    best_state: dict[str, Tensor] | None = None
    bar = tqdm(range(config.epochs), desc=desc, disable=not config.progress, file=sys.stderr)
    for epoch in bar:
        # set lr for this epoch (a pure function of the epoch)
        lr = cosine_lr(epoch, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        # one pass over the training data, then validation
        start = time.perf_counter()
        train_loss = run_epoch(
            model,
            train,
            loss_fn,
            optimizer,
            config,
            generator=generator,
            device=device,
            epoch=epoch,
        )
        val_loss = evaluate(model, val, loss_fn, device=device) if val is not None else None
        seconds = time.perf_counter() - start
        history.records.append(EpochRecord(epoch + 1, train_loss, val_loss, lr, seconds))
        # keep the best weights seen on validation (or the latest, without validation)
        monitored = val_loss if val_loss is not None else train_loss
        if history.best_val_loss is None or monitored < history.best_val_loss:
            history.best_val_loss, history.best_epoch = monitored, epoch + 1
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        # log, then stop once validation has not improved for `patience` epochs
        bar.set_postfix(train=f"{train_loss:.3g}", val=f"{monitored:.3g}")
        if config.log_every and (epoch + 1) % config.log_every == 0 and not config.progress:
            print(
                f"{desc} epoch [{epoch + 1}/{config.epochs}] train loss {train_loss:.4g}"
                + (f", val loss {val_loss:.4g}" if val_loss is not None else ""),
                file=sys.stderr,
            )
        if config.patience and epoch + 1 - history.best_epoch >= config.patience:
            history.stopped_early = True
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history
