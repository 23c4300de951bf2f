"""The optimisation settings every estimator trains with (saved with every run).

Each option's default and help are written here once; the CLI's training flags, ``--config``
files and ``config.json`` are generated from them (:mod:`rnnkit.config`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnkit.config import (
    fraction,
    non_negative_float,
    non_negative_int,
    option,
    positive_float,
    positive_int,
)

PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig:
    """Optimisation settings (saved with every run)."""

    # None lets an estimator choose (the forecaster: about 450 optimiser steps)
    epochs: int | None = option(
        100, "maximum epochs (early stopping may end sooner)", type=positive_int
    )
    batch_size: int = option(
        32,
        "examples per optimiser step (global: split across torchrun processes)",
        type=positive_int,
    )
    lr: float = option(3e-3, "peak learning rate", type=positive_float)
    min_lr_ratio: float = option(
        0.01, "the cosine schedule decays the lr to lr * this", type=fraction
    )
    warmup_epochs: int = option(
        0, "epochs of linear warm-up before the cosine decay", type=non_negative_int
    )
    weight_decay: float = option(0.0, "AdamW's decoupled weight decay", type=non_negative_float)
    clip_norm: float = option(
        1.0, "max global gradient norm, 0 to disable", flag="--clip", type=non_negative_float
    )
    patience: int = option(
        20,
        "early stopping: epochs without validation improvement, 0 disables",
        type=non_negative_int,
    )
    max_minutes: float = option(
        0.0,
        "time budget: training stops after this many minutes (0: none); the lr also decays "
        "with the time spent, the epoch under way is validated and the best weights are kept",
        type=non_negative_float,
    )
    seed: int = option(0, "fixes every random source (initial weights, order, dropout)", type=int)
    precision: str = option(
        "auto",
        "auto: bf16 autocast on CUDA, fp32 elsewhere; bf16 also works on the CPU",
        choices=PRECISIONS,
    )
    compile: bool = option(False, "torch.compile the model for training (mostly helps on a GPU)")
    progress: bool = True  # show a progress bar on stderr (the CLI: unless --no-progress)
    log_every: int = 10  # log a loss line every N epochs (0: never), as the tutorial does
