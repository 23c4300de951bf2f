"""The benchmark task generators: shapes, targets, splits and trivial baselines."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from rnnkit.data.tasks import (
    SOLVED_FRACTION,
    TaskSizes,
    adding_problem,
    delayed_recall,
    make_task,
)
from rnnkit.errors import UserError

SMALL = TaskSizes(train=60, val=20, test=30)


@pytest.mark.parametrize("length", [2, 7, 10])
def test_adding_problem_markers_and_target(length: int) -> None:
    x, y = adding_problem(50, length, seed=3)
    assert x.shape == (50, length, 2) and y.shape == (50, 1)
    values, markers = x[..., 0].numpy(), x[..., 1].numpy()
    assert ((values >= 0) & (values < 1)).all()
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    for i in range(50):  # recomputed row by row, independently of the vectorised generator
        positions = np.flatnonzero(markers[i])
        assert len(positions) == 2
        assert positions[0] < half <= positions[1] < length
        assert y[i, 0].item() == pytest.approx(values[i, positions].sum(), abs=1e-6)


def test_adding_problem_is_seeded_and_markers_cover_each_half() -> None:
    x1, y1 = adding_problem(400, 10, seed=5)
    x2, y2 = adding_problem(400, 10, seed=5)
    x3, _ = adding_problem(400, 10, seed=6)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    first, second = x1[:, :5, 1].argmax(1), x1[:, 5:, 1].argmax(1) + 5
    assert set(first.tolist()) == set(range(5)) and set(second.tolist()) == set(range(5, 10))


def test_adding_baseline_is_computed_on_the_test_set_and_near_one_sixth() -> None:
    task = make_task("adding", 12, sizes=TaskSizes(train=10, val=10, test=20000), seed=1)
    y_test = task.test.tensors()[1].numpy()
    assert task.baseline == pytest.approx(float(np.mean((y_test - 1.0) ** 2)), rel=1e-6)
    assert task.baseline == pytest.approx(1 / 6, abs=0.01)  # Var(U + U) = 2/12
    assert task.solved_below == pytest.approx(SOLVED_FRACTION * task.baseline)


def test_task_sets_have_the_asked_sizes_and_do_not_overlap() -> None:
    task = make_task("adding", 9, sizes=SMALL, seed=2)
    assert (len(task.train), len(task.val), len(task.test)) == (60, 20, 30)
    train_x, test_x = task.train.tensors()[0].flatten(1), task.test.tensors()[0].flatten(1)
    assert not (test_x[:, None] == train_x[None]).all(-1).any()  # independent draws
    again = make_task("adding", 9, sizes=SMALL, seed=2)
    assert torch.equal(task.test.tensors()[0], again.test.tensors()[0])


@pytest.mark.parametrize("length", [1, 6])
def test_delayed_recall_target_is_the_marked_first_symbol(length: int) -> None:
    x, y = delayed_recall(40, length, symbols=5, seed=0)
    assert x.shape == (40, length, 6) and y.shape == (40,) and y.dtype == torch.int64
    assert torch.equal(x[..., :5].sum(-1), torch.ones(40, length))  # one symbol per step
    assert torch.equal(x[:, 0, 5], torch.ones(40))  # the marker at step 0 only
    assert x[:, 1:, 5].sum() == 0
    for i in range(40):
        assert int(np.flatnonzero(x[i, 0, :5].numpy())[0]) == int(y[i])


def test_copy_baseline_is_the_most_frequent_training_symbol() -> None:
    task = make_task("copy", 5, sizes=SMALL, seed=4)
    train_y = task.train.tensors()[1].tolist()
    mode = Counter(train_y).most_common(1)[0][0]
    test_y = task.test.tensors()[1].tolist()
    assert task.baseline == pytest.approx(sum(t != mode for t in test_y) / len(test_y))
    assert task.input_size == 9 and task.output_size == 8
    assert 0.5 < task.baseline < 1.0


def test_sine_task_is_the_tutorials_chronological_split_with_last_value_baseline() -> None:
    task = make_task("sine", 10, seed=0)
    assert len(task.train) + len(task.val) + len(task.test) == 1000 - 10
    assert len(task.test) == 990 - int(0.8 * 990)
    assert int(task.train.index.max()) < int(task.val.index.min())
    assert int(task.val.index.max()) < int(task.test.index.min())
    series = torch.sin(torch.linspace(0, 100, 1000))
    starts = task.test.index
    last = series[starts + 9]
    target = series[starts + 10]
    assert task.baseline == pytest.approx(float(((target - last) ** 2).mean()), rel=1e-5)


def test_bad_task_options_are_user_errors() -> None:
    with pytest.raises(UserError, match="did you mean 'adding'"):
        make_task("addng")
    with pytest.raises(UserError, match="length"):
        make_task("adding", 1)
    with pytest.raises(UserError, match="length"):
        make_task("copy", 0)
    with pytest.raises(UserError):
        TaskSizes(train=0)
