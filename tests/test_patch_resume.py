"""The patch model resumes bit for bit: its window sampler's generator is in the checkpoint."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from rnnkit import Forecaster
from rnnkit.forecasting import patch_training
from rnnkit.forecasting.patch_callbacks import TopCheckpoints
from rnnkit.training import TrainingInterrupted
from rnnkit.training.checkpoint import read_checkpoint
from tests.test_patch import seasonal
from tests.test_resume import ROOT, wait_for_mid_epoch_checkpoint


def fitted(run_dir: Path | None = None, **checkpointing: Any) -> Forecaster:
    torch.set_num_threads(1)
    model = Forecaster(epochs=3, dropout=0.1)
    return model.fit(seasonal(), target="y", time_col="date", run_dir=run_dir, **checkpointing)


def interrupt_and_resume(
    fit: Callable[..., Forecaster],
    losses: dict[Any, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[dict[str, Any], Forecaster]:
    """``fit`` into ``tmp_path`` interrupted (SIGINT) at its 27th training step (epoch 2 of 3,
    20 steps each; checkpoints every 4), then resumed: the checkpoint's progress at the
    interruption and the resumed model. ``losses``: the fit module's LOSSES table."""
    calls = {"n": 0}
    original = losses[None]

    def interrupting(network: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if network.training:
            calls["n"] += 1
            if calls["n"] == 27:
                signal.raise_signal(signal.SIGINT)
        return original(network, batch)

    monkeypatch.setitem(losses, None, interrupting)
    with pytest.raises(TrainingInterrupted):
        fit(tmp_path, checkpoint_every=4)
    progress = read_checkpoint(tmp_path)[1]["progress"]
    monkeypatch.setitem(losses, None, original)
    return progress, fit(tmp_path, resume=True)


def test_a_patch_run_interrupted_mid_epoch_resumes_bit_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = fitted()
    progress, resumed = interrupt_and_resume(fitted, patch_training.LOSSES, tmp_path, monkeypatch)
    assert progress["epoch"] == 1 and progress["step"] > 0  # mid-epoch
    assert "rng" in progress["data"]

    def losses(model: Forecaster) -> list[tuple[Any, ...]]:
        assert model.history is not None
        return [(r.epoch, r.train_loss, r.val_loss, r.lr) for r in model.history.records]

    assert losses(resumed) == losses(reference) and len(losses(reference)) == 3
    a, b = resumed.module.state_dict(), reference.module.state_dict()  # type: ignore[union-attr]
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_rnnkit_train_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    """The README's promise, for the default model: SIGKILL mid-epoch, --resume, same weights."""
    data = tmp_path / "s.csv"
    seasonal().to_csv(data, index=False)
    flags = ["--data", str(data), "--target", "y", "--epochs", "6", "--test-size", "12"]
    flags += ["--no-progress", "--threads", "1", "--device", "cpu"]
    run, whole = tmp_path / "run", tmp_path / "whole"
    command = [sys.executable, "-m", "rnnkit", "train", *flags, "--checkpoint-every", "3"]
    proc = subprocess.Popen(
        [*command, "--out", str(run)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for_mid_epoch_checkpoint(run, proc)  # type: ignore[arg-type]
    proc.kill()
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    resumed = subprocess.run(
        [sys.executable, "-m", "rnnkit", "train", "--resume", str(run)], cwd=ROOT
    )
    assert resumed.returncode == 0
    whole_run = subprocess.run([*command, "--out", str(whole)], cwd=ROOT, capture_output=True)
    assert whole_run.returncode == 0
    a, b = load_file(run / "model.safetensors"), load_file(whole / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_kill_between_the_checkpoint_and_the_top_file_is_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The epoch's training checkpoint is written, its top_checkpoints file is not: resuming
    replays that epoch's plateau and ensemble step, and ends as the uninterrupted run."""
    reference = fitted()
    real, killed = TopCheckpoints.keep, []

    def keep(self: TopCheckpoints, record: Any, weights: Any, *, write: bool) -> None:
        if record.epoch == 2 and not killed:
            killed.append(record.epoch)
            raise RuntimeError("killed")
        real(self, record, weights, write=write)

    monkeypatch.setattr(TopCheckpoints, "keep", keep)
    with pytest.raises(RuntimeError, match="killed"):
        fitted(tmp_path)
    progress = read_checkpoint(tmp_path)[1]["progress"]
    assert (progress["epoch"], progress["step"]) == (2, 0)
    resumed = fitted(tmp_path, resume=True)
    a, b = resumed.module.state_dict(), reference.module.state_dict()  # type: ignore[union-attr]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
