"""The optimiser and the learning-rate schedule ``fit`` uses unless it is given others.

An *optimiser factory* takes the parameters and the TrainConfig and returns a
``torch.optim.Optimizer``; a *schedule* maps (epoch, TrainConfig) to that epoch's learning rate.
Schedules are pure functions of the epoch, so that a resumed run sets the same rates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from rnnkit.training.config import TrainConfig

OptimizerFactory = Callable[[Iterable[nn.Parameter], TrainConfig], torch.optim.Optimizer]
Schedule = Callable[[int, TrainConfig], float]


def adamw(params: Iterable[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW (Loshchilov & Hutter 2019) at ``config.lr`` with ``config.weight_decay``."""
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def cosine_lr(epoch: int, config: TrainConfig) -> float:
    """Learning rate for ``epoch``: linear warm-up, then cosine decay to lr * min_lr_ratio."""
    if epoch < config.warmup_epochs:
        return config.lr * (epoch + 1) / config.warmup_epochs
    span = max(1, (config.epochs or 0) - config.warmup_epochs)
    progress = min(1.0, (epoch - config.warmup_epochs) / span)
    floor = config.lr * config.min_lr_ratio
    return floor + 0.5 * (config.lr - floor) * (1 + math.cos(math.pi * progress))


def budget_lr(lr: float, spent: float, config: TrainConfig) -> float:
    """``lr``, or less: where a cosine decay from ``config.lr`` to its floor stands when the
    ``spent`` share of the time budget (``max_minutes``) has passed. A run ended by its budget
    thus still ends at a low rate (the rate then depends on the machine's speed)."""
    if spent <= 0.0:
        return lr
    floor = config.lr * config.min_lr_ratio
    by_time = floor + 0.5 * (config.lr - floor) * (1 + math.cos(math.pi * min(1.0, spent)))
    return min(lr, by_time)


def constant_lr(epoch: int, config: TrainConfig) -> float:
    """``config.lr`` for every epoch."""
    return config.lr
