"""From user tables to series arrays and back: columns, context windows, future timestamps.

Reading and validating a table is :mod:`rnnkit.data.io`'s job (``prepare_series``); this module
remembers which columns a forecaster was fitted on, cuts the last ``window`` rows of every
series out of the concatenated values, and builds the output table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data.io import SeriesData, prepare_series
from rnnkit.errors import UserError

OUTPUT_COLUMNS = ("forecast", "lo_80", "hi_80", "lo_95", "hi_95")
# OUTPUT_COLUMNS -> column of the module's (lo_95, lo_80, median, hi_80, hi_95) output
_FROM_MODULE = (2, 1, 3, 0, 4)


@dataclass
class Columns:
    """Which columns of the user's table the forecaster reads."""

    target: str
    time_col: str | None = None  # None: the rows are consecutive steps 0, 1, 2, ...
    covariates: list[str] | None = None  # past covariates, read as inputs only
    id_col: str | None = None  # long format: one series per id
    fill: str | None = None  # how missing values are filled: ffill, interpolate, zero
    freq: str | None = None  # pandas frequency alias; None: inferred from the timestamps
    future_covariates: list[str] | None = None  # known ahead: inputs over window and horizon
    static_covariates: list[str] | None = None  # one value per series (numeric or categorical)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def as_frame(data: pd.DataFrame | pd.Series, target: str | None) -> tuple[pd.DataFrame, Columns]:
    """A DataFrame and default columns; a Series becomes its index (time) and its values."""
    if isinstance(data, pd.Series):
        name = str(data.name) if data.name is not None else (target or "value")
        frame = data.rename(name).to_frame()
        if isinstance(data.index, pd.RangeIndex):
            return frame.reset_index(drop=True), Columns(target=name)
        time_col = str(data.index.name or "time")
        return frame.rename_axis(time_col).reset_index(), Columns(name, time_col=time_col)
    if not isinstance(data, pd.DataFrame):
        raise UserError(f"expected a pandas DataFrame or Series, got {type(data).__name__}")
    if target is None:
        raise UserError("name the column to forecast: target=...")
    return data, Columns(target=target)


def prepare(frame: pd.DataFrame, columns: Columns, *, min_length: int = 1) -> SeriesData:
    """Validate and convert through :func:`rnnkit.data.io.prepare_series`: the values hold the
    target, the past covariates, then the known-future covariates."""
    return prepare_series(
        frame,
        target=columns.target,
        time_col=columns.time_col,
        covariates=(*(columns.covariates or ()), *(columns.future_covariates or ())),
        id_col=columns.id_col,
        fill=columns.fill,
        freq=columns.freq,
        min_length=min_length,
    )


def context_rows(
    offsets: np.ndarray, ends: np.ndarray, window: int, pad: bool = False
) -> np.ndarray:
    """Row indices (series, window) of the ``window`` rows before each series' end; ``pad``:
    rows before a series' start repeat its first row (instead of an error)."""
    firsts = np.asarray(offsets[:-1], np.int64)
    starts = firsts + np.asarray(ends, np.int64) - window
    if pad:
        return np.maximum(starts[:, None] + np.arange(window), firsts[:, None])
    if (starts < firsts).any():
        raise UserError(f"every series needs at least window = {window} points before its cut")
    return starts[:, None] + np.arange(window)  # (series, window)


def last_times(data: SeriesData, ends: np.ndarray) -> list[Any]:
    """The last timestamp (or step number) before each series' cut."""
    return [data.times[i][int(e) - 1] for i, e in enumerate(ends)]


def future_index(last: Any, steps: int, freq: str | None) -> pd.Index:
    """The ``steps`` timestamps (or step numbers) after ``last``."""
    if freq is None:
        return pd.RangeIndex(int(last) + 1, int(last) + 1 + steps)
    return pd.date_range(pd.Timestamp(last), periods=steps + 1, freq=freq)[1:]


def output_frame(
    forecasts: np.ndarray,
    lasts: list[Any],
    ids: list[str],
    freq: str | None,
    columns: Columns,
) -> pd.DataFrame:
    """The predict() table from module output (series, steps, K).

    Indexed by future time; with an id column, long format (one row per series and step).
    """
    n_series, steps, k = forecasts.shape
    names = OUTPUT_COLUMNS[:1] if k == 1 else OUTPUT_COLUMNS
    order = (0,) if k == 1 else _FROM_MODULE
    flat = forecasts[:, :, list(order)].reshape(n_series * steps, len(names))
    cache: dict[Any, pd.Index] = {}  # series usually share their last timestamp
    index_parts = [cache.setdefault(last, future_index(last, steps, freq)) for last in lasts]
    index = index_parts[0].append(index_parts[1:]) if n_series > 1 else index_parts[0]
    frame = pd.DataFrame(flat, index=index, columns=list(names))
    frame.index.name = columns.time_col or "step"
    if columns.id_col is not None:
        frame.insert(0, columns.id_col, np.repeat(np.asarray(ids, dtype=object), steps))
    return frame


def holdout_lengths(lengths: np.ndarray, test_size: int | float) -> np.ndarray:
    """Test points per series: a count, or a fraction of each series (as chronological_split)."""
    lengths = np.asarray(lengths, np.int64)
    if isinstance(test_size, float):
        if not 0.0 < test_size < 1.0:
            raise UserError(f"a fractional test size must be in (0, 1), got {test_size}")
        return lengths - (lengths * (1.0 - test_size)).astype(np.int64)
    if test_size < 0:
        raise UserError(f"the test size must be >= 0, got {test_size}")
    return np.full_like(lengths, int(test_size))
