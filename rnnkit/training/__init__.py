"""The one training loop every application uses, and its parts.

``fit`` (:mod:`.loop`) trains any ``nn.Module`` on any batch source with a loss function; the
configuration is :class:`TrainConfig` (:mod:`.config`); :class:`History` (:mod:`.history`) is what
it returns. Checkpoints (:mod:`.checkpoint`), signals (:mod:`.interrupts`) and torchrun/DDP
(:mod:`.distributed`) are handled inside ``fit``.
"""

from rnnkit.training.callbacks import Callback, StepEnd
from rnnkit.training.config import PRECISIONS, TrainConfig
from rnnkit.training.history import EpochRecord, History
from rnnkit.training.interrupts import TrainingInterrupted
from rnnkit.training.loop import fit, prepare, run_epoch
from rnnkit.training.losses import Batch, LossFn, classification_loss, regression_loss
from rnnkit.training.optim import OptimizerFactory, Schedule, adamw, constant_lr, cosine_lr
from rnnkit.training.seeding import seed_everything, seeded
from rnnkit.training.state import LoopState, TrainingDiverged, TrainingRun
from rnnkit.training.step import (
    BatchSource,
    StepResult,
    evaluate,
    to_device,
    train_step,
    use_bf16,
)

__all__ = [
    "PRECISIONS",
    "Batch",
    "BatchSource",
    "Callback",
    "EpochRecord",
    "History",
    "LoopState",
    "LossFn",
    "OptimizerFactory",
    "Schedule",
    "StepEnd",
    "StepResult",
    "TrainConfig",
    "TrainingDiverged",
    "TrainingInterrupted",
    "TrainingRun",
    "adamw",
    "classification_loss",
    "constant_lr",
    "cosine_lr",
    "evaluate",
    "fit",
    "prepare",
    "regression_loss",
    "run_epoch",
    "seed_everything",
    "seeded",
    "to_device",
    "train_step",
    "use_bf16",
]
