"""The fit loop learns, is reproducible, stops early, keeps the best weights, schedules lr."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch

from rnnkit.compare.demo import DemoConfig, sine_examples
from rnnkit.data import Examples, sliding_windows
from rnnkit.errors import UserError
from rnnkit.models import ModelConfig, SequenceModel
from rnnkit.training import TrainConfig, TrainingDiverged, cosine_lr, evaluate, fit, use_bf16


def sine_data() -> tuple[Examples, Examples, Examples]:
    return sine_examples(DemoConfig(num_samples=300))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_it_learns_sine(cell: str) -> None:
    train, val, test = sine_data()
    model = SequenceModel(ModelConfig(cell=cell, hidden_size=16))
    before = evaluate(model, test)
    config = TrainConfig(epochs=8, batch_size=16, lr=1e-2, patience=0, progress=False, log_every=0)
    history = fit(model, train, val, config)
    after = evaluate(model, test)
    assert after < before / 20
    assert len(history.records) == 8
    assert history.records[-1].train_loss < history.records[0].train_loss


def test_same_seed_same_weights(tiny_train: TrainConfig) -> None:
    train, val, _ = sine_data()
    weights = []
    for _ in range(2):
        torch.manual_seed(123)
        model = SequenceModel(ModelConfig(cell="gru", hidden_size=8))
        fit(model, train, val, tiny_train)
        weights.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_early_stopping_restores_best_weights() -> None:
    train, val, _ = sine_data()
    model = SequenceModel(ModelConfig(cell="rnn", hidden_size=8))
    # a learning rate far too high makes validation worse after the first epochs
    config = TrainConfig(epochs=30, batch_size=8, lr=0.5, patience=3, progress=False, log_every=0)
    history = fit(model, train, val, config)
    assert history.best_val_loss is not None
    assert evaluate(model, val) == pytest.approx(history.best_val_loss, rel=1e-5)
    assert history.stopped_early  # lr 0.5 overshoots: validation stops improving early
    assert len(history.records) == history.best_epoch + 3 < 30


def test_cosine_schedule_endpoints() -> None:
    config = TrainConfig(epochs=11, lr=1.0, min_lr_ratio=0.1, warmup_epochs=1)
    assert cosine_lr(0, config) == pytest.approx(1.0)
    assert cosine_lr(1, config) == pytest.approx(1.0)
    assert cosine_lr(11, config) == pytest.approx(0.1)
    lrs = [cosine_lr(e, config) for e in range(1, 12)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


def test_nan_loss_stops_with_clear_error(tiny_train: TrainConfig) -> None:
    x, y = sliding_windows(torch.tensor([0.0, 1.0, math.nan, 2.0, 3.0, 4.0, 5.0]), 2)
    data = Examples(x, y.reshape(-1, 1))
    model = SequenceModel(ModelConfig(cell="rnn", hidden_size=4))
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        fit(model, data, None, tiny_train)


def test_precision_auto_is_fp32_on_cpu_and_unknown_is_a_user_error() -> None:
    cpu = torch.device("cpu")
    assert not use_bf16("auto", cpu) and not use_bf16("fp32", cpu) and use_bf16("bf16", cpu)
    with pytest.raises(UserError, match="fp32"):
        use_bf16("fp16", cpu)


def test_bf16_autocast_trains_and_keeps_fp32_weights(tiny_train: TrainConfig) -> None:
    train, val, test = sine_data()
    model = SequenceModel(ModelConfig(cell="gru", hidden_size=8))
    before = evaluate(model, test)
    fit(model, train, val, replace(tiny_train, precision="bf16"))
    assert evaluate(model, test) < before / 2
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_fit_refuses_bad_resume_and_checkpoint_every(
    tiny_train: TrainConfig,
) -> None:
    train, _, _ = sine_data()
    model = SequenceModel(ModelConfig(cell="rnn", hidden_size=4))
    with pytest.raises(UserError, match="resum"):
        fit(model, train, None, tiny_train, resume=True)
    with pytest.raises(UserError, match="checkpoint_every"):
        fit(model, train, None, tiny_train, checkpoint_every=-1)


def test_contiguous_sets_stay_slices_and_batch_like_index_tensors() -> None:
    x, y = sliding_windows(torch.arange(40.0), 3)
    examples = Examples(x, y).subset(slice(5, 30)).subset(slice(2, 20))
    explicit = Examples(x, y, torch.arange(7, 25))
    assert len(examples) == len(explicit) == 18
    assert torch.equal(examples.index, explicit.index)
    for positions in torch.randperm(18).split(4):
        (xa, ya), (xb, yb) = examples[positions], explicit[positions]
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_training_flags_reach_the_config(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Flags given to a training command are what the run records and trains with."""
    out = tmp_path / "run"
    flags = ["--clip", "0.25", "--precision", "fp32", "--lr", "0.02", "--weight-decay", "0.1"]
    flags += ["--seed", "5", "--batch-size", "2", "--patience", "7", "--layers", "2"]
    text = "the quick brown fox jumps over the lazy dog. " * 20
    (tmp_path / "t.txt").write_text(text)
    args = ["lm", "train", "--data", tmp_path / "t.txt", "--steps", "2", "--seq-len", "8"]
    result = cli(*args, "--hidden-size", "4", "--embed-size", "2", *flags, "--out", out)
    assert result.code == 0, result.err
    saved = json.loads((out / "config.json").read_text())
    train, model = saved["train"], saved["model"]
    assert (train["clip_norm"], train["precision"], train["lr"]) == (0.25, "fp32", 0.02)
    assert (train["weight_decay"], train["seed"], train["batch_size"]) == (0.1, 5, 2)
    assert (train["patience"], model["num_layers"], model["hidden_size"]) == (7, 2, 4)
    result = cli("demo", "--precision", "fp16")
    assert result.code == 2 and "--precision" in result.err


def test_fit_uses_the_optimiser_and_schedule_it_is_given() -> None:
    train, val, _ = sine_data()
    model = SequenceModel(ModelConfig(cell="gru", hidden_size=4))
    built: list[torch.optim.Optimizer] = []

    def sgd(params, config):  # type: ignore[no-untyped-def]
        built.append(torch.optim.SGD(params, lr=config.lr, momentum=0.9))
        return built[-1]

    def halving(epoch: int, config: TrainConfig) -> float:
        return config.lr / 2**epoch

    config = TrainConfig(epochs=3, batch_size=16, lr=0.1, patience=0, progress=False)
    history = fit(model, train, val, config, optimizer=sgd, schedule=halving)
    assert len(built) == 1 and isinstance(built[0], torch.optim.SGD)
    assert [r.lr for r in history.records] == [0.1, 0.05, 0.025]


def test_callbacks_see_every_step_and_epoch() -> None:
    train, val, _ = sine_data()
    model = SequenceModel(ModelConfig(cell="rnn", hidden_size=4))
    seen: dict[str, list] = {"step": [], "epoch": [], "end": []}

    class Spy:
        def on_step(self, run, step) -> None:  # type: ignore[no-untyped-def]
            seen["step"].append((step.epoch, step.step, step.loss, step.lr, step.grad_norm))

        def on_epoch(self, run, record) -> None:  # type: ignore[no-untyped-def]
            seen["epoch"].append(record)

        def on_end(self, run) -> None:  # type: ignore[no-untyped-def]
            seen["end"].append(True)

    config = TrainConfig(epochs=2, batch_size=64, lr=1e-2, patience=0, progress=False)
    history = fit(model, train, val, config, callbacks=[Spy()])
    steps_per_epoch = math.ceil(len(train) / 64)
    assert len(seen["step"]) == 2 * steps_per_epoch
    assert [s[:2] for s in seen["step"][:2]] == [(0, 1), (0, 2)]
    assert all(math.isfinite(s[2]) and s[4] is not None for s in seen["step"])
    assert seen["epoch"] == history.records and seen["end"] == [True]


def test_fit_leaves_the_callers_random_states_alone() -> None:
    import random

    import numpy as np

    train, val, _ = sine_data()
    model = SequenceModel(ModelConfig(cell="gru", hidden_size=4))
    torch.manual_seed(123)
    random.seed(4)
    np.random.seed(5)
    before = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    fit(model, train, val, TrainConfig(epochs=1, batch_size=64, progress=False, seed=9))
    assert torch.equal(torch.get_rng_state(), before[0])
    assert random.getstate() == before[1]
    assert np.array_equal(np.random.get_state()[1], before[2])
