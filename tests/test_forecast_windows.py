"""Windows and horizons index by index: training frames, series boundaries, the forecast loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.forecasting.module import ForecastModule, NetworkConfig
from rnnkit.forecasting.windows import SeriesWindows, split_validation, valid_starts

OFFSETS = np.array([0, 10, 13, 25])  # three series: 10, 3 and 12 rows


def test_valid_starts_never_cross_a_series_boundary() -> None:
    lengths = np.diff(OFFSETS)
    starts = valid_starts(OFFSETS, lengths, frame=5)
    # series 0: 0..5; series 1 (3 rows) has none; series 2: 13..20
    assert starts.tolist() == [*range(0, 6), *range(13, 21)]
    # a training cut-off shortens each series' run of windows
    assert valid_starts(OFFSETS, np.array([7, 3, 5]), 5).tolist() == [0, 1, 2, 13]


@pytest.mark.parametrize("horizon", [1, 3])  # recursive trains on 1 step, direct on horizon
def test_batches_are_exact_slices_of_their_own_series(horizon: int) -> None:
    window = 4
    values = torch.arange(25, dtype=torch.float32).reshape(25, 1) * torch.tensor([[1.0, -1.0]])
    starts = valid_starts(OFFSETS, np.diff(OFFSETS), window + horizon)
    owner = np.searchsorted(OFFSETS, starts, side="right") - 1
    loc, scale = torch.tensor([[0.0, 0], [1, 1], [2, 2]]), torch.ones(3, 2)
    data = SeriesWindows(
        values,
        torch.as_tensor(starts),
        torch.as_tensor(owner),
        loc,
        scale,
        window=window,
        horizon=horizon,
    )
    x, y, bloc, _ = data.batch(torch.arange(len(data)))
    for i, s in enumerate(starts):
        assert torch.equal(x[i], values[s : s + window])
        assert torch.equal(y[i], values[s + window : s + window + horizon])
        series = int(owner[i])
        assert OFFSETS[series] <= s and s + window + horizon <= OFFSETS[series + 1]
        assert torch.equal(bloc[i], loc[series])
    assert data.frames.untyped_storage().data_ptr() == values.untyped_storage().data_ptr()


def test_validation_is_the_last_windows_of_each_series() -> None:
    starts = np.arange(10)
    owner = np.array([0] * 6 + [1] * 4)
    train, val = split_validation(starts, owner, 0.34)
    assert val.tolist() == [False] * 4 + [True] * 2 + [False] * 3 + [True]
    assert (train == ~val).all()


def module(horizon: int, window: int = 6, likelihood: str | None = None) -> ForecastModule:
    torch.manual_seed(0)
    config = NetworkConfig(
        cell="gru",
        features=2,
        hidden_size=8,
        window=window,
        horizon=horizon,
        likelihood=likelihood,
        log=[True, False],
    )
    return ForecastModule(config).eval()


@pytest.mark.parametrize("horizon", [1, 3])
def test_forecast_reads_exactly_the_last_window_rows(horizon: int) -> None:
    m = module(horizon)
    raw = torch.rand(1, 9, 2) + 1.0  # 9 rows, window 6
    loc, scale = torch.zeros(1, 2), torch.ones(1, 2)
    base = m(raw[:, -6:], loc, scale, 5)
    assert base.shape == (1, 5, 1)
    changed = raw.clone()
    changed[0, 2] += 5.0  # row 2 is outside the last 6 rows
    assert torch.equal(m(changed[:, -6:], loc, scale, 5), base)
    changed[0, 3] += 5.0  # row 3 is the first row of the window
    assert not torch.equal(m(changed[:, -6:], loc, scale, 5), base)


@pytest.mark.parametrize("horizon", [1, 2])
def test_multi_step_loop_feeds_its_own_forecasts_back(horizon: int) -> None:
    """Forecasting 2h steps equals forecasting h, appending them, then h more."""
    m = module(horizon, likelihood=None)
    m.config.log = [False, False]
    m.log.zero_()
    raw = torch.rand(3, 6, 2)
    loc, scale = torch.zeros(3, 2), torch.ones(3, 2)
    with torch.no_grad():
        full = m(raw, loc, scale, 2 * horizon)
        level = raw[:, -1:]  # window_norm "last"
        first = m.network(raw - level)[..., 0] + level  # (3, h, 2): both features
        slid = torch.cat([raw[:, horizon:], first], dim=1)
        second = m(slid, loc, scale, horizon)
    assert torch.allclose(full[:, :horizon, 0], first[:, :, 0], atol=1e-6)
    assert torch.allclose(full[:, horizon:], second, atol=1e-6)


def test_gaussian_paths_give_ordered_quantiles() -> None:
    m = module(1, likelihood="gaussian")
    raw = torch.rand(2, 6, 2) + 1.0
    noise = torch.randn(50, 4, 2, generator=torch.Generator().manual_seed(0))
    out = m(raw, torch.zeros(2, 2), torch.ones(2, 2), 4, noise)
    assert out.shape == (2, 4, 5)
    assert (out.diff(dim=-1) >= 0).all()
    assert torch.equal(out, m(raw, torch.zeros(2, 2), torch.ones(2, 2), 4, noise))
