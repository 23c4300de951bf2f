"""WeightAverage: the mean of the weights after the last N epochs, continued across a resume."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

from rnnkit.compare.demo import DemoConfig, sine_examples
from rnnkit.errors import UserError
from rnnkit.models import ModelConfig, SequenceModel
from rnnkit.training import TrainConfig, TrainingInterrupted, fit
from rnnkit.training.averaging import AVERAGE_FILE, WeightAverage

CONFIG = TrainConfig(epochs=5, batch_size=32, lr=1e-2, patience=0, progress=False, log_every=0)


class Snapshots:
    """Copies of the weights after every epoch (and a stop request after ``stop_at``)."""

    def __init__(self, stop_at: int = 0) -> None:
        self.weights: dict[int, dict[str, torch.Tensor]] = {}
        self.stop_at = stop_at

    def on_epoch(self, run, record) -> None:  # type: ignore[no-untyped-def]
        self.weights[record.epoch] = {k: v.clone() for k, v in run.model.state_dict().items()}
        if record.epoch == self.stop_at:
            run.stop.received = signal.SIGINT  # as if Ctrl-C came during this epoch


def model() -> SequenceModel:
    torch.manual_seed(0)
    return SequenceModel(ModelConfig(cell="gru", hidden_size=8))


def test_the_average_is_the_mean_of_the_last_epochs_weights() -> None:
    train, val, _ = sine_examples(DemoConfig(num_samples=200))
    average, snapshots = WeightAverage(3, CONFIG.epochs or 0), Snapshots()
    fit(model(), train, val, CONFIG, callbacks=[average, snapshots])
    mean = average.averaged()
    assert mean is not None
    for name in mean:
        expected = torch.stack([snapshots.weights[e][name] for e in (3, 4, 5)]).mean(0)
        torch.testing.assert_close(mean[name], expected)
    # the average is not simply one of the epochs' weights
    assert not torch.equal(mean["head.weight"], snapshots.weights[5]["head.weight"])


def test_a_resumed_run_continues_the_same_average(tmp_path: Path) -> None:
    train, val, _ = sine_examples(DemoConfig(num_samples=200))
    whole = WeightAverage(3, 5)
    fit(model(), train, val, CONFIG, callbacks=[whole])
    first = WeightAverage(3, 5)
    with pytest.raises(TrainingInterrupted):
        fit(model(), train, val, CONFIG, callbacks=[first, Snapshots(stop_at=4)], run_dir=tmp_path)
    assert (tmp_path / AVERAGE_FILE).is_file()
    resumed = WeightAverage(3, 5)
    fit(model(), train, val, CONFIG, callbacks=[resumed], run_dir=tmp_path, resume=True)
    expected, got = whole.averaged(), resumed.averaged()
    assert expected is not None and got is not None
    for name in expected:
        torch.testing.assert_close(got[name], expected[name])


def test_a_missing_or_foreign_average_file_is_a_user_error(tmp_path: Path) -> None:
    train, val, _ = sine_examples(DemoConfig(num_samples=200))
    for case, damage in (("foreign", "write"), ("missing", "unlink")):
        run_dir = tmp_path / case
        run_dir.mkdir()
        with pytest.raises(TrainingInterrupted):
            fit(model(), train, val, CONFIG, callbacks=[WeightAverage(3, 5), Snapshots(4)],
                run_dir=run_dir)  # fmt: skip
        if damage == "write":
            (run_dir / AVERAGE_FILE).write_bytes(b"not safetensors")
        else:
            (run_dir / AVERAGE_FILE).unlink()
        message = "not a readable weight average" if damage == "write" else "is missing"
        with pytest.raises(UserError, match=message):
            fit(model(), train, val, CONFIG, callbacks=[WeightAverage(3, 5)], run_dir=run_dir,
                resume=True)  # fmt: skip
    with pytest.raises(UserError, match="at least one epoch"):
        WeightAverage(0, 5)
