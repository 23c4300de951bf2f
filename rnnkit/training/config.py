"""The optimisation settings every estimator trains with (saved with every run)."""

from __future__ import annotations

from dataclasses import dataclass

PRECISIONS = ("auto", "fp32", "bf16")


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
