"""The Forecaster learns and resumes: it beats seasonal naive on a seasonal series with a
trend, and a fit stopped mid-epoch and resumed ends equal to one never stopped."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rnnkit import Forecaster
from rnnkit.training import Callback, StepEnd, TrainingInterrupted
from rnnkit.training.checkpoint import read_checkpoint


def seasonal_series(n: int = 144, seed: int = 0) -> pd.DataFrame:
    """Monthly: a growing level times a yearly season, with 2% noise (AirPassengers-like)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = 100.0 * 1.01**t  # 1% a month: seasonal naive lags a year of growth
    season = 1.0 + 0.25 * np.sin(2 * np.pi * t / 12)
    noise = 1.0 + 0.02 * rng.standard_normal(n)
    dates = pd.date_range("2000-01-01", periods=n, freq="MS")
    return pd.DataFrame({"date": dates, "value": level * season * noise})


def test_the_default_forecaster_beats_seasonal_naive() -> None:
    frame = seasonal_series()
    model = Forecaster(seed=0).fit(frame, target="value", time_col="date", test_size=24)
    scores = model.evaluate(frame, test_size=24)
    assert scores["model"]["mase"] < 0.6 * scores["seasonal_naive"]["mase"], scores
    assert scores["model"]["mape"] < scores["seasonal_naive"]["mape"]


class InterruptAt(Callback):
    """Send this process SIGINT after optimiser step ``step`` of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch: int, step: int) -> None:
        self.epoch, self.step = epoch, step

    def on_step(self, run: Any, step: StepEnd) -> None:
        if (step.epoch, step.step) == (self.epoch, self.step):
            signal.raise_signal(signal.SIGINT)


OPTIONS: dict[str, Any] = {
    "model": "classic",
    "epochs": 3,
    "hidden_size": 8,
    "batch_size": 8,
    "seed": 0,
}


def _fit(frame: pd.DataFrame, **fit_options: Any) -> Forecaster:
    model = Forecaster(**OPTIONS)
    return model.fit(frame, target="value", time_col="date", test_size=12, **fit_options)


def test_a_resumed_fit_continues_from_the_saved_step_and_ends_equal(tmp_path: Path) -> None:
    frame = seasonal_series(96)
    uninterrupted = _fit(frame)
    with pytest.raises(TrainingInterrupted):
        _fit(frame, run_dir=tmp_path, checkpoint_every=2, callbacks=[InterruptAt(1, 3)])
    _, meta = read_checkpoint(tmp_path)
    assert (meta["progress"]["epoch"], meta["progress"]["step"]) == (1, 3)  # mid-epoch 2
    seen: list[tuple[int, int]] = []

    class Record(Callback):
        def on_step(self, run: Any, step: StepEnd) -> None:
            seen.append((step.epoch, step.step))

    resumed = _fit(frame, run_dir=tmp_path, resume=True, callbacks=[Record()])
    assert seen[0] == (1, 4)  # the first step after the saved one, not a restart
    assert resumed.module is not None and uninterrupted.module is not None
    for name, value in uninterrupted.module.state_dict().items():
        assert np.array_equal(value.numpy(), resumed.module.state_dict()[name].numpy()), name
    assert resumed.history is not None and uninterrupted.history is not None
    got = [(r.epoch, r.train_loss) for r in resumed.history.records]
    assert got == [(r.epoch, r.train_loss) for r in uninterrupted.history.records]
