"""The patch model resumes bit for bit: its window sampler's generator is in the checkpoint."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
import torch

from rnnkit import Forecaster
from rnnkit.forecasting import patch_training
from rnnkit.training import TrainingInterrupted
from rnnkit.training.checkpoint import read_checkpoint
from tests.test_patch import seasonal


def fitted(run_dir: Path | None = None, **checkpointing: Any) -> Forecaster:
    torch.set_num_threads(1)
    model = Forecaster(epochs=3, dropout=0.1)
    return model.fit(seasonal(), target="y", time_col="date", run_dir=run_dir, **checkpointing)


def test_a_patch_run_interrupted_mid_epoch_resumes_bit_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = fitted()
    calls = {"n": 0}
    original = patch_training.l1_loss

    def interrupting(network: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if network.training:
            calls["n"] += 1
            if calls["n"] == 27:  # epoch 2 of 3 (20 steps each)
                signal.raise_signal(signal.SIGINT)
        return original(network, batch)

    monkeypatch.setitem(patch_training.LOSSES, None, interrupting)
    with pytest.raises(TrainingInterrupted):
        fitted(tmp_path, checkpoint_every=4)
    progress = read_checkpoint(tmp_path)[1]["progress"]
    assert progress["epoch"] == 1 and progress["step"] > 0  # mid-epoch
    assert "rng" in progress["data"]
    monkeypatch.setitem(patch_training.LOSSES, None, original)
    resumed = fitted(tmp_path, resume=True)

    def losses(model: Forecaster) -> list[tuple[Any, ...]]:
        assert model.history is not None
        return [(r.epoch, r.train_loss, r.val_loss, r.lr) for r in model.history.records]

    assert losses(resumed) == losses(reference) and len(losses(reference)) == 3
    a, b = resumed.module.state_dict(), reference.module.state_dict()  # type: ignore[union-attr]
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
