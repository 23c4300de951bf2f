"""The patch model's training callbacks: the plateau schedule and the top-5 checkpoints.

Both keep their state in ``RUN/top_checkpoints.safetensors`` (written after each epoch's
training checkpoint). A run killed between the two files resumes from a checkpoint one epoch
ahead of that file: :class:`TopCheckpoints` then replays the missed epoch from the checkpoint's
weights and history, so the resumed run ends as an uninterrupted one would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from rnnkit.runs import atomic_write
from rnnkit.training import EpochRecord, History, TrainConfig, TrainingRun, fit
from rnnkit.training.checkpoint import checkpoint_path, read_checkpoint

TOP_K = 5
HALVE_AFTER = 3


class Plateau:
    """A schedule (``lr / 2**halvings``) and a callback that halves after 3 bad epochs."""

    def __init__(self) -> None:
        self.halvings = 0

    def __call__(self, epoch: int, config: TrainConfig) -> float:
        return config.lr * 0.5**self.halvings

    def on_epoch(self, run: TrainingRun, record: EpochRecord) -> None:
        self.observe(record.epoch, run.state.history.best_epoch)

    def observe(self, epoch: int, best_epoch: int) -> None:
        bad = epoch - best_epoch
        if bad and bad % HALVE_AFTER == 0:
            self.halvings += 1


class TopCheckpoints:
    """Keeps the weights of the ``k`` best-validating epochs; with a run folder also in
    ``top_checkpoints.safetensors`` (with the plateau's halvings), so a resumed run keeps both."""

    def __init__(self, plateau: Plateau, run_dir: Any = None, resume: bool = False) -> None:
        self.plateau, self.kept = plateau, []  # type: ignore[var-annotated]
        self.path = Path(run_dir) / "top_checkpoints.safetensors" if run_dir else None
        self.epoch = 0  # the last epoch seen
        if resume and self.path is not None and self.path.exists():
            with safe_open(str(self.path), framework="pt") as f:
                meta = f.metadata() or {}
                plateau.halvings = int(meta.get("halvings", 0))
                self.epoch = int(meta.get("epoch", -1))
                for i, (loss, epoch) in enumerate(json.loads(meta.get("kept", "[]"))):
                    names = [k for k in f.keys() if k.startswith(f"{i}.")]  # noqa: SIM118
                    weights = {k.split(".", 1)[1]: f.get_tensor(k) for k in names}
                    self.kept.append((loss, epoch, weights))
        if resume and run_dir is not None and self.epoch >= 0:
            self._replay(Path(run_dir))

    def _replay(self, run_dir: Path) -> None:
        """An epoch whose checkpoint was written but not this file (killed in between)."""
        if not checkpoint_path(run_dir).is_file():
            return
        tensors, meta = read_checkpoint(run_dir)
        progress = meta["progress"]
        records = progress["history"]["records"]
        if progress["step"] != 0 or progress["epoch"] != self.epoch + 1 or not records:
            return
        history = History.from_dict(progress["history"])
        record = history.records[-1]
        self.plateau.observe(record.epoch, history.best_epoch)
        weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        self.keep(record, weights, write=True)

    def on_epoch(self, run: TrainingRun, record: EpochRecord) -> None:
        weights = {k: v.detach().cpu().clone() for k, v in run.model.state_dict().items()}
        self.keep(record, weights, write=run.context.rank == 0)

    def keep(self, record: EpochRecord, weights: dict[str, Tensor], *, write: bool) -> None:
        loss = record.val_loss if record.val_loss is not None else record.train_loss
        kept = sorted([*self.kept, (loss, record.epoch, weights)], key=lambda t: t[:2])
        self.kept, self.epoch = kept[:TOP_K], record.epoch
        if self.path is not None and write:
            tensors = {f"{i}.{k}": v for i, (_, _, w) in enumerate(self.kept) for k, v in w.items()}
            meta = {"kept": json.dumps([[a, b] for a, b, _ in self.kept])}
            meta["halvings"], meta["epoch"] = str(self.plateau.halvings), str(self.epoch)
            atomic_write(self.path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def fit_ensemble(
    network: nn.Module,
    train: Any,
    val: Any,
    config: TrainConfig,
    loss_fn: Callable[..., Tensor],
    device: Any,
    checkpointing: dict[str, Any],
) -> tuple[list[dict[str, Tensor]], History]:
    """Train ``network`` with the plateau schedule (:class:`Plateau`) and keep the weights of
    its best-validating checkpoints (:class:`TopCheckpoints`; the last weights when none
    validated): the members of the ensemble the patch and ES-RNN models average.
    ``checkpointing`` goes to :func:`rnnkit.training.fit`; its ``callbacks`` run after ours."""
    plateau = Plateau()
    top = TopCheckpoints(plateau, checkpointing.get("run_dir"), checkpointing.get("resume", False))
    others = checkpointing.pop("callbacks", ())
    history = fit(
        network,
        train,
        val,
        config,
        loss_fn=loss_fn,
        schedule=plateau,
        callbacks=[plateau, top, *others],
        device=device,
        desc="forecaster",
        **checkpointing,
    )
    kept = top.kept or [(0.0, 0, network.state_dict())]
    return [weights for _, _, weights in kept], history
