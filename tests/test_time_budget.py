"""TrainConfig.max_minutes: a time budget ends training mid-epoch, validated, best weights kept."""

from __future__ import annotations

import pytest
import torch

from rnnkit.compare.demo import DemoConfig, sine_examples
from rnnkit.models import ModelConfig, SequenceModel
from rnnkit.training import TrainConfig, evaluate, fit
from rnnkit.training.optim import budget_lr


class StepCounter:
    def __init__(self) -> None:
        self.steps = 0

    def on_step(self, run, step) -> None:  # type: ignore[no-untyped-def]
        self.steps += 1


def test_a_spent_time_budget_stops_after_the_step_under_way() -> None:
    train, val, _ = sine_examples(DemoConfig(num_samples=300))
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(cell="gru", hidden_size=8))
    before = evaluate(model, val)
    config = TrainConfig(epochs=5, batch_size=16, lr=1e-2, patience=0, progress=False,
                         log_every=0, max_minutes=1e-9)  # fmt: skip
    counter = StepCounter()
    history = fit(model, train, val, config, callbacks=[counter])
    assert counter.steps == 1  # one step, then the budget is found spent
    assert history.out_of_time and history.stopped_early
    assert len(history.records) == 1 and history.records[0].val_loss is not None
    assert evaluate(model, val) != before  # the step's weights were kept (best = only epoch)


def test_no_budget_trains_every_epoch() -> None:
    train, val, _ = sine_examples(DemoConfig(num_samples=300))
    model = SequenceModel(ModelConfig(cell="gru", hidden_size=8))
    config = TrainConfig(epochs=2, batch_size=64, patience=0, progress=False, log_every=0)
    history = fit(model, train, val, config)
    assert len(history.records) == 2 and not history.out_of_time


def test_a_time_budget_lowers_the_lr_along_a_cosine_of_the_time_spent() -> None:
    config = TrainConfig(lr=1.0, min_lr_ratio=0.1, max_minutes=10)
    assert budget_lr(0.8, 0.0, config) == 0.8  # nothing spent: the epoch's rate
    assert budget_lr(0.8, 0.5, config) == pytest.approx(0.55)  # halfway: (1 + 0.1) / 2
    assert budget_lr(0.3, 0.5, config) == 0.3  # never above the epoch's own rate
    assert budget_lr(0.8, 1.0, config) == pytest.approx(0.1)  # spent: the floor
    assert budget_lr(0.8, 7.0, config) == pytest.approx(0.1)


def test_under_a_budget_every_step_gets_the_lowered_rate() -> None:
    train, val, _ = sine_examples(DemoConfig(num_samples=300))
    model = SequenceModel(ModelConfig(cell="gru", hidden_size=8))
    config = TrainConfig(epochs=1, batch_size=16, lr=1e-2, patience=0, progress=False,
                         log_every=0, max_minutes=0.05)  # fmt: skip
    rates: list[float] = []

    class Rates:
        def on_step(self, run, step) -> None:  # type: ignore[no-untyped-def]
            rates.append(step.lr)

    fit(model, train, val, config, callbacks=[Rates()])
    assert len(rates) > 3
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:], strict=False))
    assert rates[-1] < 1e-2  # below the epoch's constant rate
