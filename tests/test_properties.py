"""Property-based tests (hypothesis) for windowing, splits, scaling and its inverse, metrics.

The CSV reader's properties live in tests/test_io_properties.py.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rnnkit import metrics
from rnnkit.data import chronological_split, sliding_windows
from rnnkit.data.scaling import SeriesScaler, training_rows

SETTINGS = settings(max_examples=60, deadline=None)
finite = st.floats(-1e4, 1e4, allow_nan=False, width=32)


@SETTINGS
@given(
    length=st.integers(2, 60),
    features=st.integers(1, 3),
    window=st.integers(1, 10),
    horizon=st.integers(1, 5),
)
def test_windows_are_the_slices_they_claim(length, features, window, horizon) -> None:
    if window + horizon > length:
        return
    series = torch.randn(length, features)
    x, y = sliding_windows(series, window, horizon)
    assert x.shape == (length - window - horizon + 1, window, features)
    for i in range(x.shape[0]):  # the loop the views replace
        assert torch.equal(x[i], series[i : i + window])
        assert torch.equal(y[i], series[i + window : i + window + horizon])


@SETTINGS
@given(n=st.integers(10, 5000), test=st.floats(0.05, 0.5), val=st.floats(0.0, 0.3))
def test_split_parts_are_ordered_disjoint_and_complete(n, test, val) -> None:
    try:
        split = chronological_split(n, test=test, val=val)
    except Exception as err:  # too few examples for the fractions is a user error, nothing else
        assert type(err).__name__ == "UserError"
        return
    assert split.train.start == 0 and split.train.stop == split.val.start
    assert split.val.stop == split.test.start and split.test.stop == n
    assert split.train.stop > 0 and split.test.stop > split.test.start


@st.composite
def panels(draw):
    """Several series of positive or mixed values, and each one's training length."""
    lengths = draw(st.lists(st.integers(2, 20), min_size=1, max_size=4))
    features = draw(st.integers(1, 3))
    positive = draw(st.booleans())
    elements = st.floats(0.25, 1e4, width=32) if positive else finite
    values = draw(arrays(np.float32, (sum(lengths), features), elements=elements))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    train = np.array([draw(st.integers(1, n)) for n in lengths])
    return values, offsets, train


@SETTINGS
@given(panels())
def test_inverse_undoes_transform(panel) -> None:
    values, offsets, train = panel
    scaler = SeriesScaler.fit(values, offsets, train)
    for i in range(len(train)):
        part = values[offsets[i] : offsets[i + 1]]
        # a log feature's non-positive value after the cut is floored by design (kept finite)
        part = part[(part[:, scaler.log] > 0).all(axis=1)]
        back = scaler.inverse(scaler.transform(part, i), i)
        np.testing.assert_allclose(back, part, rtol=2e-3, atol=2e-3 * (1 + np.abs(part).max()))


@SETTINGS
@given(panels(), st.floats(-1e6, 1e6, allow_nan=False))
def test_scaler_never_sees_rows_after_the_cut(panel, junk) -> None:
    values, offsets, train = panel
    changed = values.copy()
    changed[~training_rows(offsets, train)] = junk  # overwrite every test row
    a, b = SeriesScaler.fit(values, offsets, train), SeriesScaler.fit(changed, offsets, train)
    assert np.array_equal(a.loc, b.loc) and np.array_equal(a.scale, b.scale)


pairs = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, n, elements=finite), arrays(np.float64, n, elements=finite)
    )
)


@SETTINGS
@given(pairs)
def test_metric_relations(pair) -> None:
    t, p = pair
    assert metrics.mse(t, p) >= 0
    assert np.isclose(metrics.rmse(t, p) ** 2, metrics.mse(t, p), rtol=1e-9, atol=1e-9)
    assert metrics.mae(t, p) <= metrics.rmse(t, p) + 1e-9  # mean |e| <= sqrt(mean e^2)
    assert 0.0 <= metrics.smape(t, p) <= 200.0 + 1e-9
    assert metrics.mse(t, t) == 0.0 and metrics.smape(t, t) == 0.0


@SETTINGS
@given(pairs, st.floats(0.1, 100.0))
def test_mase_is_scale_free(pair, factor) -> None:
    t, p = pair
    history = np.concatenate([t, p])  # any series with a non-zero naive error
    if np.mean(np.abs(np.diff(history))) < 1e-6:
        return
    a = metrics.mase(t, p, history)
    b = metrics.mase(t * factor, p * factor, history * factor)
    assert np.isclose(a, b, rtol=1e-6, atol=1e-9)
