"""Windows are views, match the tutorial's loop index by index, and splits are chronological."""

from __future__ import annotations

import pytest
import torch

from rnnkit.data import Examples, chronological_split, sine_wave, sliding_windows
from rnnkit.errors import UserError


def tutorial_windows(y: torch.Tensor, seq_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The tutorial's Python loop, verbatim in logic."""
    xs, ys = [], []
    for i in range(len(y) - seq_length):
        xs.append(y[i : i + seq_length].unsqueeze(-1))
        ys.append(y[i + seq_length])
    return torch.stack(xs), torch.tensor(ys).unsqueeze(-1)


def test_sine_matches_tutorial() -> None:
    assert torch.equal(sine_wave(), torch.sin(torch.linspace(0, 100, 1000)))


def test_windows_equal_tutorial_loop_index_by_index() -> None:
    y = sine_wave()
    x_ref, y_ref = tutorial_windows(y, 10)
    x, target = sliding_windows(y, 10)
    assert x.shape == x_ref.shape == (990, 10, 1)
    assert torch.equal(x, x_ref)
    assert torch.equal(target.reshape(-1, 1), y_ref)


def test_windows_are_views_not_copies() -> None:
    series = torch.arange(50.0).reshape(25, 2)
    x, y = sliding_windows(series, 4, horizon=3)
    assert x.untyped_storage().data_ptr() == series.untyped_storage().data_ptr()
    assert y.untyped_storage().data_ptr() == series.untyped_storage().data_ptr()
    series[5, 1] = -1.0  # a change to the series shows through every window that covers it
    assert x[2, 3, 1] == -1.0 and y[0, 1, 1] == -1.0


@pytest.mark.parametrize("window,horizon", [(1, 1), (3, 2), (5, 4)])
def test_multi_step_targets_follow_inputs(window: int, horizon: int) -> None:
    series = torch.arange(20.0)
    x, y = sliding_windows(series, window, horizon)
    assert x.shape == (20 - window - horizon + 1, window, 1)
    for i in range(x.shape[0]):
        assert x[i, :, 0].tolist() == list(range(i, i + window))
        assert y[i, :, 0].tolist() == list(range(i + window, i + window + horizon))


def test_series_too_short_is_user_error() -> None:
    with pytest.raises(UserError, match="window"):
        sliding_windows(torch.zeros(5), 5, 1)


def test_split_is_chronological_like_the_tutorial() -> None:
    split = chronological_split(990, test=0.2, val=0.1)
    assert split.test == slice(792, 990)  # the tutorial's int(0.8 * len(X))
    assert split.train.start == 0 and split.train.stop == split.val.start
    assert split.val.stop == 792
    assert split.val.stop - split.val.start == round(0.1 * 792)


def test_split_by_count() -> None:
    split = chronological_split(100, test=24, val=0.0)
    assert split.test == slice(76, 100) and split.train == slice(0, 76)


def test_batches_cover_each_example_once() -> None:
    x, y = sliding_windows(torch.arange(30.0), 3)
    examples = Examples(x, y).subset(slice(5, 20))
    gen = torch.Generator().manual_seed(1)
    seen = torch.cat(
        [xb[:, 0, 0] for xb, _ in examples.iter_batches(4, shuffle=True, generator=gen)]
    )
    assert sorted(seen.tolist()) == list(range(5, 20))
