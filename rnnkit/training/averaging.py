"""Weight averaging over the last epochs: a callback for :func:`rnnkit.training.fit`.

:class:`WeightAverage` keeps the running mean of the model's weights at the end of each of the
last ``last`` epochs of the schedule (the tail of a cosine decay). The mean of several nearby
solutions is a cheap ensemble of checkpoints folded into one model (Polyak averaging; "SWA",
Izmailov et al. 2018): it costs one copy of the weights and no extra forward pass.

With a run folder the mean is saved beside the checkpoint after every averaged epoch
(``average.safetensors``, the number of epochs in it as metadata), so a resumed run continues
the same mean instead of starting a new one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import Tensor

from rnnkit.errors import UserError
from rnnkit.runs import atomic_write
from rnnkit.training.callbacks import Callback
from rnnkit.training.history import EpochRecord

if TYPE_CHECKING:
    from rnnkit.training.state import TrainingRun

AVERAGE_FILE = "average.safetensors"


class WeightAverage(Callback):
    """Mean of the weights after each of the last ``last`` of ``epochs`` epochs."""

    def __init__(self, last: int, epochs: int) -> None:
        if last < 1:
            raise UserError(f"weight averaging needs at least one epoch, got {last}")
        self.first = max(1, epochs - last + 1)  # 1-based epoch where averaging starts
        self.mean: dict[str, Tensor] | None = None
        self.count = 0

    def on_epoch(self, run: TrainingRun, record: EpochRecord) -> None:
        if record.epoch < self.first:
            return
        weights = run.model.state_dict()
        if self.mean is None and record.epoch > self.first:  # a resumed run: continue its mean
            saved = self._restore(run.run_dir, record.epoch - self.first)
            self.mean = {k: saved[k].to(v.device, v.dtype) for k, v in weights.items()}
        if self.mean is None:
            self.mean = {k: v.detach().clone() for k, v in weights.items()}
            self.count = 1
        else:
            self.count += 1
            for name, value in weights.items():
                if value.is_floating_point():  # running mean; integer buffers: the latest
                    self.mean[name] += (value.detach() - self.mean[name]) / self.count
                else:
                    self.mean[name] = value.detach().clone()
        if run.run_dir is not None and not run.context.rank:
            self._save(run.run_dir)

    def averaged(self, run_dir: str | Path | None = None) -> dict[str, Tensor] | None:
        """The mean weights (None before the first averaged epoch). A run resumed after its
        last epoch trains nothing: give its ``run_dir`` to read the mean it saved."""
        if self.mean is None and run_dir is not None and (Path(run_dir) / AVERAGE_FILE).is_file():
            self.mean = self._restore(Path(run_dir), None)
        return self.mean

    def _save(self, run_dir: Path) -> None:
        assert self.mean is not None
        tensors = {k: v.cpu().contiguous() for k, v in self.mean.items()}
        metadata = {"epochs": str(self.count)}
        atomic_write(run_dir / AVERAGE_FILE, lambda tmp: save_file(tensors, tmp, metadata))

    def _restore(self, run_dir: Path | None, expected: int | None) -> dict[str, Tensor]:
        path = (run_dir or Path()) / AVERAGE_FILE
        if run_dir is None or not path.is_file():
            raise UserError(f"cannot continue the weight average: '{path}' is missing")
        try:
            with safe_open(str(path), framework="pt") as reader:
                count = int((reader.metadata() or {}).get("epochs", "0"))
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise UserError(f"'{path}' is not a readable weight average ({err})") from None
        if expected is not None and count != expected:
            raise UserError(f"'{path}' averages {count} epochs; the checkpoint needs {expected}")
        self.count = count
        return tensors
