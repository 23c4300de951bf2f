"""TensorBoard scalars from the training callbacks: one logger serves every training command.

``--log-dir DIR`` gives ``fit`` a :class:`TensorBoardLogger` among its callbacks, so the loop
itself never changes. It writes, on rank 0 only:

- every optimiser step (x axis: the global step, ``epoch * steps_per_epoch + step``, so a
  resumed run continues its curves): ``step/loss``, ``step/lr``, ``step/grad_norm`` (when
  clipping measures it);
- every epoch (x axis: the epoch, 1-based): ``epoch/train_loss``, ``epoch/val_loss`` (the
  validation loss that early stopping watches, when there is a validation set), ``epoch/lr``,
  ``epoch/seconds``;
- and whatever a caller adds with :meth:`TensorBoardLogger.scalar` (``rnnkit tune``: each
  trial's validation score).

``torch.utils.tensorboard`` needs the ``tensorboard`` package, an optional extra
(``pip install 'rnnkit[tensorboard]'``); without it, asking for a logger is a one-line error.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnkit.errors import UserError
from rnnkit.training.callbacks import Callback, StepEnd
from rnnkit.training.distributed import steps_per_epoch
from rnnkit.training.history import EpochRecord

if TYPE_CHECKING:
    from rnnkit.training.state import TrainingRun

MISSING = "--log-dir needs the tensorboard package: pip install 'rnnkit[tensorboard]'"


def available() -> bool:
    """Whether the tensorboard package is installed (without importing it)."""
    return importlib.util.find_spec("tensorboard") is not None


def _writer_class() -> Any:
    """``SummaryWriter``; a UserError when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises ImportError when tensorboard is missing
        raise UserError(MISSING) from None
    return SummaryWriter


class TensorBoardLogger(Callback):
    """Writes the loop's scalars as TensorBoard event files into ``log_dir``.

    The folder is created at the first scalar (so a command that fails on its input leaves
    nothing behind); event files are flushed after every epoch and closed at the end.
    """

    def __init__(self, log_dir: str | Path) -> None:
        self.log_dir = Path(log_dir)
        if self.log_dir.exists() and not self.log_dir.is_dir():
            raise UserError(f"--log-dir '{self.log_dir}' is a file, not a folder")
        self._writer_class = _writer_class()  # fail now, before any training
        self._writer: Any = None
        self._steps = 0  # steps per epoch, known once training has started

    def _write(self, tag: str, value: float, step: int) -> None:
        if self._writer is None:
            try:
                self._writer = self._writer_class(log_dir=str(self.log_dir))
            except OSError as err:
                where = f"cannot write TensorBoard logs to '{self.log_dir}'"
                raise UserError(f"{where}: {err}") from None
        self._writer.add_scalar(tag, value, step)

    def scalar(self, tag: str, value: float, step: int = 0) -> None:
        """Any other scalar (e.g. a score computed after training)."""
        self._write(tag, float(value), step)
        self.flush()

    def on_step(self, run: TrainingRun, step: StepEnd) -> None:
        if run.context.rank:
            return
        if not self._steps:
            n = len(run.train_data)  # type: ignore[arg-type]  # every batch source has one
            self._steps = steps_per_epoch(n, run.config.batch_size, run.context.world)
        at = step.epoch * self._steps + step.step
        self._write("step/loss", step.loss, at)
        self._write("step/lr", step.lr, at)
        if step.grad_norm is not None:
            self._write("step/grad_norm", step.grad_norm, at)

    def on_epoch(self, run: TrainingRun, record: EpochRecord) -> None:
        if run.context.rank:
            return
        self._write("epoch/train_loss", record.train_loss, record.epoch)
        if record.val_loss is not None:
            self._write("epoch/val_loss", record.val_loss, record.epoch)
        self._write("epoch/lr", record.lr, record.epoch)
        self._write("epoch/seconds", record.seconds, record.epoch)
        self.flush()

    def on_end(self, run: TrainingRun) -> None:
        self.close()

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Write everything out and release the file (a later scalar opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def tensorboard_callbacks(log_dir: str | Path | None) -> list[object]:
    """``[TensorBoardLogger(log_dir)]``, or no callback without a ``log_dir``."""
    return [] if log_dir is None else [TensorBoardLogger(log_dir)]
