"""Reading a table's time column: dates in any format pandas parses (timezone-aware too), or
whole numbers (ordinal steps); anything else is a one-line UserError that shows the value."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.api import types

from rnnkit.errors import UserError

__all__ = ["parse_time"]


def parse_time(column: pd.Series, source: str) -> pd.DatetimeIndex | np.ndarray:
    """Dates -> DatetimeIndex; whole numbers (integer-like text too) -> int64 steps."""
    name = column.name
    if column.isna().any():
        row = int(np.argmax(column.isna().to_numpy())) + 1
        raise UserError(
            f"{source}: time column '{name}' is empty at row {row}; every row needs a time"
        )
    dtype = column.dtype
    if types.is_datetime64_any_dtype(dtype):
        return pd.DatetimeIndex(column)
    if types.is_bool_dtype(dtype):
        raise UserError(f"{source}: time column '{name}' holds true/false values, not times")
    numbers = column if types.is_numeric_dtype(dtype) else None
    if numbers is None and _is_number(column.iloc[0]):  # integer steps written as text
        numbers = pd.to_numeric(column, errors="coerce")
    if numbers is not None and numbers.notna().all():
        array = numbers.to_numpy()
        with np.errstate(invalid="ignore"):
            whole = array.astype(np.int64)
        fractional = whole != array
        if fractional.any():
            row = int(np.argmax(fractional))
            raise UserError(
                f"{source}: time column '{name}' has {array[row]} at row {row + 1}, not a whole "
                "number; use dates (e.g. 2020-01-31) or integer steps"
            )
        return whole
    parsed = _to_datetime(column)
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        value = str(column.iloc[row])
        shown = repr(value if len(value) <= 40 else value[:37] + "...")
        raise UserError(
            f"{source}: time column '{name}' has {shown} at row {row + 1}, which is not a "
            "date/time (like the other rows); write times as e.g. 2020-01-31 or 2020-01-31 13:00"
        )
    return pd.DatetimeIndex(parsed)


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _to_datetime(column: pd.Series) -> pd.Series:
    """Parse with pandas (format inferred from the first value); unparseable values -> NaT."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format": falls back to dateutil
        try:
            parsed = pd.to_datetime(column, errors="coerce")
        except (ValueError, TypeError):  # mixed UTC offsets, e.g. across a DST change
            parsed = pd.to_datetime(column, errors="coerce", utc=True)
        if not types.is_datetime64_any_dtype(parsed.dtype):  # pandas 2 gives objects instead
            parsed = pd.to_datetime(column, errors="coerce", utc=True)
    return parsed
