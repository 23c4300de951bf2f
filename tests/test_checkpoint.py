"""The training checkpoint: contents, exact resume, refusals, signals and divergence in-process."""

from __future__ import annotations

import json
import math
import signal
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from torch import Tensor, nn

from rnnkit.data import Examples, sliding_windows
from rnnkit.errors import UserError
from rnnkit.training import (
    Batch,
    TrainConfig,
    TrainingDiverged,
    TrainingInterrupted,
    fit,
    regression_loss,
)
from rnnkit.training.checkpoint import CHECKPOINT, read_checkpoint
from tests.train_driver import options, train


def weights(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_bit_equal(a: dict[str, Tensor], b: dict[str, Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


class SignalAtStep:
    """A loss function that sends this process ``signal_number`` during step ``step``."""

    def __init__(self, step: int, signal_number: int) -> None:
        self.step, self.signal_number, self.calls = step, signal_number, 0

    def __call__(self, model: nn.Module, batch: Batch) -> Tensor:
        self.calls += 1
        if self.calls == self.step and model.training:
            signal.raise_signal(self.signal_number)
        return regression_loss(model, batch)


@pytest.fixture(scope="module")
def reference() -> dict[str, Tensor]:
    """The driver's run, never interrupted and never checkpointed."""
    args = options(["unused", "--epochs", "2"])
    args.run_dir = None
    return weights(train(args))


def test_checkpoint_holds_every_state_in_safetensors_and_json(tmp_path: Path) -> None:
    train(options([str(tmp_path), "--epochs", "1", "--checkpoint-every", "5"]))
    with safe_open(str(tmp_path / CHECKPOINT), framework="pt") as handle:
        names = set(handle.keys())
        meta = json.loads(handle.metadata()["rnnkit"])
        rng = handle.get_tensor("rng.torch")
    assert {"optim.state.3.exp_avg", "optim.state.3.exp_avg_sq", "optim.state.0.step"} <= names
    assert {"rng.numpy", "rng.python", "model.head.weight", "best.head.weight"} <= names
    assert rng.dtype == torch.uint8
    assert meta["progress"]["epoch"] == 1 and meta["progress"]["step"] == 0
    assert len(meta["progress"]["history"]["records"]) == 1
    assert meta["progress"]["config"]["batch_size"] == 8


def test_sigint_mid_epoch_saves_and_resume_is_bit_exact(
    tmp_path: Path, reference: dict[str, Tensor], caplog: pytest.LogCaptureFixture
) -> None:
    args = options([str(tmp_path), "--epochs", "2", "--checkpoint-every", "4"])
    stopper = SignalAtStep(35, signal.SIGINT)  # epoch 2 (each epoch has 27 steps)
    before = signal.getsignal(signal.SIGINT)  # default, or ignored in a background job
    with pytest.raises(TrainingInterrupted) as stopped:
        train(args, stopper)
    assert stopped.value.exit_code == 130
    assert signal.getsignal(signal.SIGINT) is before  # handler restored
    err = caplog.text  # the library logs (WARNING); the CLI shows it on stderr
    assert "SIGINT at epoch 2, step" in err and "resume with: python tests/train_driver.py" in err
    _, meta = read_checkpoint(tmp_path)
    assert meta["progress"]["epoch"] == 1 and meta["progress"]["step"] > 0  # mid-epoch
    resumed = train(options([str(tmp_path), "--epochs", "2", "--resume"]))
    assert_bit_equal(weights(resumed), reference)


def test_resuming_a_finished_run_changes_nothing(tmp_path: Path) -> None:
    first = weights(train(options([str(tmp_path), "--epochs", "1"])))
    again = weights(train(options([str(tmp_path), "--epochs", "1", "--resume"])))
    assert_bit_equal(first, again)


def test_resume_refuses_missing_corrupt_and_mismatched(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no training checkpoint"):
        train(options([str(tmp_path), "--resume", "--epochs", "1"]))
    train(options([str(tmp_path), "--epochs", "1"]))
    with pytest.raises(UserError, match="batch_size=8"):
        train(options([str(tmp_path), "--resume", "--epochs", "1", "--batch-size", "16"]))
    path = tmp_path / CHECKPOINT
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(UserError, match="not an rnnkit training checkpoint"):
        train(options([str(tmp_path), "--resume", "--epochs", "1"]))


def test_divergence_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    series = torch.sin(torch.linspace(0, 20, 80))
    series[60] = math.nan  # reached by some batch of the first epoch, after a few steps
    x, y = sliding_windows(series, 5)
    data = Examples(x, y.reshape(-1, 1))
    model = nn.Sequential(nn.Flatten(), nn.Linear(5, 1))
    config = TrainConfig(epochs=2, batch_size=4, lr=1e-2, patience=0, progress=False, log_every=0)
    with pytest.raises(TrainingDiverged) as diverged:
        fit(model, data, None, config, run_dir=tmp_path, checkpoint_every=1)
    message = str(diverged.value)
    assert "\n" not in message and "epoch 1, step" in message and "--lr" in message
    tensors, meta = read_checkpoint(tmp_path)
    step = meta["progress"]["step"]
    assert f"checkpoint (epoch 1, step {step})" in message
    assert f"step {step + 1};" in message  # it failed at the step after the last checkpoint
    assert all(bool(torch.isfinite(t).all()) for k, t in tensors.items() if k.startswith("model."))
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())  # no NaN step taken
