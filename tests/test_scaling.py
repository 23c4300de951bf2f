"""Per-series scaling: hand-computed statistics, the log choice, and no peeking at test data."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.scaling import SeriesScaler, training_rows
from rnnkit.errors import UserError


def two_series() -> tuple[np.ndarray, np.ndarray]:
    a = np.array([[1.0], [2.0], [3.0], [100.0]], dtype=np.float32)  # last row: test
    b = np.array([[-2.0], [2.0], [4.0], [6.0], [-50.0]], dtype=np.float32)
    return np.concatenate([a, b]), np.array([0, 4, 9])


def test_statistics_by_hand_on_training_rows_only() -> None:
    values, offsets = two_series()
    scaler = SeriesScaler.fit(values, offsets, np.array([3, 4]), transform="none")
    assert scaler.loc[:, 0] == pytest.approx([2.0, 2.5])
    assert scaler.scale[0, 0] == pytest.approx(np.std([1.0, 2.0, 3.0]))
    assert scaler.scale[1, 0] == pytest.approx(np.std([-2.0, 2.0, 4.0, 6.0]))


def test_test_rows_never_change_the_fit() -> None:
    values, offsets = two_series()
    lengths = np.array([3, 4])
    first = SeriesScaler.fit(values, offsets, lengths)
    wild = values.copy()
    wild[3] = 1e6
    wild[8] = -1e6
    second = SeriesScaler.fit(wild, offsets, lengths)
    assert np.array_equal(first.loc, second.loc) and np.array_equal(first.scale, second.scale)
    assert np.array_equal(first.log, second.log)


def test_auto_log_only_for_positive_training_values() -> None:
    values, offsets = two_series()
    assert not SeriesScaler.fit(values, offsets, np.array([3, 4])).log[0]  # b has -2
    positive = np.abs(values) + 1
    scaler = SeriesScaler.fit(positive, offsets, np.array([3, 4]))
    assert scaler.log[0]
    assert scaler.loc[0, 0] == pytest.approx(np.mean(np.log([2.0, 3.0, 4.0])), rel=1e-6)
    with pytest.raises(UserError, match="positive"):
        SeriesScaler.fit(values, offsets, np.array([3, 4]), transform="log")


def test_transform_inverse_and_dict_round_trip() -> None:
    values, offsets = two_series()
    scaler = SeriesScaler.fit(np.abs(values) + 1, offsets, np.array([3, 4]))
    part = np.abs(values[4:9]) + 1
    scaled = scaler.transform(part, 1)
    assert np.allclose(scaler.inverse(scaled, 1), part, rtol=1e-5)
    again = SeriesScaler.from_dict(scaler.to_dict())
    assert np.array_equal(again.loc, scaler.loc) and np.array_equal(again.log, scaler.log)


def test_constant_series_gets_unit_scale_and_bad_dicts_are_user_errors() -> None:
    values = np.full((5, 1), 3.0, dtype=np.float32)
    scaler = SeriesScaler.fit(values, np.array([0, 5]), np.array([5]), transform="none")
    assert scaler.scale[0, 0] == 1.0
    with pytest.raises(UserError):
        SeriesScaler.from_dict({"log": [True], "loc": [[1.0, 2.0]], "scale": [[1.0]]})
    with pytest.raises(UserError):
        SeriesScaler.from_dict({"loc": 3})


def test_training_rows_mask() -> None:
    mask = training_rows(np.array([0, 4, 9]), np.array([3, 4]))
    assert mask.tolist() == [True] * 3 + [False] + [True] * 4 + [False]
