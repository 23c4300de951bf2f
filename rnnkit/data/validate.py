"""From a table to series ready for windowing: columns, numbers, times, frequency and gaps.

:func:`prepare_series` checks a DataFrame (from :func:`rnnkit.data.io.load_table` or built in
code) and returns :class:`SeriesData`; anything wrong raises :class:`~rnnkit.errors.UserError`
with one line that names the column, the row (counted from 1 at the first row below the header)
and the value, and says what to do. The time axis (parsing, order, frequency, season) is
:mod:`rnnkit.data.timegrid`, frequency aliases and season lengths :mod:`rnnkit.data.freq`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types

from rnnkit.data.freq import parse_freq, season_length
from rnnkit.data.timegrid import Layout, fmt_time, time_indexes
from rnnkit.errors import UserError, closest, unknown

__all__ = [
    "FILLS",
    "MAX_ABS",
    "SOURCE_ATTR",
    "SeriesData",
    "parse_freq",
    "prepare_series",
    "season_length",
]

FILLS = ("ffill", "interpolate", "zero")
SOURCE_ATTR = "rnnkit_source"  # df.attrs key: the file a table was read from, for messages
MAX_ABS = 1e15  # larger values overflow float32 in training (their squares pass 3.4e38)


@dataclass
class SeriesData:
    """One or many aligned series, ready for windowing."""

    values: np.ndarray  # (total_time, 1 + len(covariates)) float32: target, then covariates
    offsets: np.ndarray  # (n_series + 1,) int64: series i is values[offsets[i]:offsets[i+1]]
    ids: list[str]  # series ids in order of first appearance (["series"] without an id column)
    times: list[pd.Index]  # per series: DatetimeIndex with .freq, or RangeIndex
    freq: str | None  # pandas frequency alias shared by all series; None without dates
    target: str  # the column to forecast
    covariates: list[str]  # extra input columns, in values[:, 1:]
    time_col: str | None  # the time column used (given, or the one datetime column found)
    id_col: str | None  # the column that names each row's series

    def series(self, i: int) -> np.ndarray:
        """Series ``i`` as a view of :attr:`values`: (time_i, 1 + len(covariates))."""
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        """(n_series,) the number of time steps of each series."""
        return np.diff(self.offsets)


def prepare_series(
    df: pd.DataFrame,
    *,
    target: str,
    time_col: str | None = None,
    covariates: Sequence[str] = (),
    id_col: str | None = None,
    fill: str | None = None,
    freq: str | None = None,
    min_length: int = 1,
    source: str = "data",
) -> SeriesData:
    """Check ``df`` and turn it into :class:`SeriesData` (one series per ``id_col`` value).

    ``fill`` fills empty cells of the target and covariates: "ffill" (forward, then backward
    for the head), "interpolate" (linear in time) or "zero"; without it they are an error.
    ``freq`` forces the frequency (otherwise inferred with ``pd.infer_freq``), and every series
    needs at least ``min_length`` rows. Columns not named are ignored. ``source`` names the
    table in messages; left at "data", the file name that :func:`load_table` noted in
    ``df.attrs`` is used.
    """
    if source == "data":
        source = str(df.attrs.get(SOURCE_ATTR, source))
    covariates = list(covariates)
    _check_columns(df, source, target, covariates, time_col, id_col)
    if fill is not None and fill not in FILLS:
        raise unknown("--fill method", fill, FILLS)
    if len(df) == 0:
        raise UserError(f"{source}: the table has no rows")
    if time_col is None:
        time_col = _datetime_column(df, {target, *covariates, id_col})
    layout = _layout(df, id_col, source)
    lengths = np.diff(layout.offsets)
    if lengths.min() < min_length:
        i = int(np.argmin(lengths >= min_length))
        name = f"series '{layout.ids[i]}'" if id_col is not None else "the series"
        rows = f"{lengths[i]} row{'s' if lengths[i] != 1 else ''}"
        raise UserError(
            f"{source}: {name} has {rows}, fewer than the {min_length} needed; use a "
            "shorter --window/--horizon, or more data"
        )
    columns = [target, *covariates]
    values = np.empty((len(df), len(columns)), dtype=np.float32)  # (total_time, features)
    for j, name in enumerate(columns):
        numbers = _numbers(df[name], name, source)  # (rows,) in frame order
        _check_finite(numbers, name, df, time_col, source, allow_nan=fill is not None)
        values[:, j] = layout.take(numbers)
    times, alias = time_indexes(None if time_col is None else df[time_col], layout, freq)
    if fill is not None:
        _fill(values, layout, times, fill, columns)
    return SeriesData(
        values, layout.offsets, layout.ids, times, alias, target, covariates, time_col, id_col
    )


def _listing(names: list[str], limit: int = 20) -> str:
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


_ROLE_NAMES = {"target": "the target", "covariate": "a covariate"}
_ROLE_NAMES |= {"time": "the time column", "id": "the id column"}


def _check_columns(
    df: pd.DataFrame,
    source: str,
    target: str,
    covariates: list[str],
    time_col: str | None,
    id_col: str | None,
) -> None:
    roles = [("target", target), *(("covariate", c) for c in covariates)]
    roles += [(role, name) for role, name in (("time", time_col), ("id", id_col)) if name]
    names = [str(c) for c in df.columns]
    seen: dict[str, str] = {}
    for role, name in roles:
        if name not in df.columns:
            raise UserError(
                f"{source}: no {role} column '{name}'{closest(str(name), names)}; "
                f"columns: {_listing(names)}"
            )
        if name in seen:
            first, again = _ROLE_NAMES[seen[name]], _ROLE_NAMES[role]
            raise UserError(
                f"{source}: column '{name}' is given as {first} and again as {again}; "
                "give each column one role"
            )
        seen[name] = role
        if int((df.columns == name).sum()) > 1:
            raise UserError(f"{source}: column name '{name}' appears twice; rename one of them")


def _datetime_column(df: pd.DataFrame, exclude: set[str | None]) -> str | None:
    """The one column, among those not otherwise used, that holds dates, or None.

    A datetime-typed column wins; otherwise a text column whose first values all parse as
    dates (a CSV's ``date`` column arrives as text).
    """
    unused = [(c, dtype) for c, dtype in df.dtypes.items() if c not in exclude]
    found = [c for c, dtype in unused if types.is_datetime64_any_dtype(dtype)]
    if not found:
        found = [c for c, dtype in unused if not types.is_numeric_dtype(dtype) and _dates(df[c])]
    return str(found[0]) if len(found) == 1 else None


def _dates(column: pd.Series) -> bool:
    """Whether the column's first (up to 20) values are all dates."""
    head = column.dropna().head(20).astype(str)
    if head.empty:
        return False
    parsed = pd.to_datetime(head, errors="coerce", format="mixed")
    return bool(parsed.notna().all())


def _layout(df: pd.DataFrame, id_col: str | None, source: str) -> Layout:
    if id_col is None:
        return Layout(source, ["series"], np.array([0, len(df)], dtype=np.int64), None, None)
    column = df[id_col]
    if column.isna().any():
        row = int(np.argmax(column.isna().to_numpy())) + 1
        raise UserError(
            f"{source}: id column '{id_col}' is empty at row {row}; give every row an id"
        )
    codes, uniques = pd.factorize(column.astype(str))  # codes in order of first appearance
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes))]).astype(np.int64)
    grouped = bool((np.diff(codes) >= 0).all())
    rows = None if grouped else np.argsort(codes, kind="stable")  # keeps each id's row order
    return Layout(source, [str(u) for u in uniques], offsets, rows, id_col)


def _show(value: object) -> str:
    """A cell's value for a one-line message: quoted, escaped, at most 40 characters."""
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _at(df: pd.DataFrame, time_col: str | None, row: int) -> str:
    return f" ({time_col} {fmt_time(df[time_col].iloc[row])})" if time_col is not None else ""


def _numbers(column: pd.Series, name: str, source: str) -> np.ndarray:
    """The column as a float array in frame order (no copy when it already is one)."""
    dtype = column.dtype
    if types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype):
        raise UserError(f"{source}: column '{name}' holds dates or times, not numbers")
    if types.is_numeric_dtype(dtype):
        array = column.to_numpy()
        if array.dtype.kind == "f":
            return array
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = pd.to_numeric(column, errors="coerce")
    bad = (numbers.isna() & column.notna() & (column.astype(str).str.strip() != "")).to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        value = str(column.iloc[row]).strip()
        kind = "mixes numbers and text" if numbers.notna().any() else "holds text, not numbers"
        hint = ""
        if re.fullmatch(r"[-+]?[\d.]*\d,\d+", value):
            hint = "; write numbers with '.' as the decimal point and no thousands separators"
        raise UserError(f"{source}: column '{name}' {kind}: row {row + 1} has {_show(value)}{hint}")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _check_finite(
    numbers: np.ndarray,
    name: str,
    df: pd.DataFrame,
    time_col: str | None,
    source: str,
    *,
    allow_nan: bool,
) -> None:
    infinite = np.isinf(numbers)
    if infinite.any():
        row = int(np.argmax(infinite))
        raise UserError(
            f"{source}: column '{name}' has an infinite value ({numbers[row]}) at row {row + 1}"
            f"{_at(df, time_col, row)}; rnnkit needs finite numbers: fix or remove that value"
        )
    huge = np.abs(numbers) > MAX_ABS
    if huge.any():
        row = int(np.argmax(huge))
        raise UserError(
            f"{source}: column '{name}' has {numbers[row]:g} at row {row + 1}"
            f"{_at(df, time_col, row)}, too large to train on (limit +/-1e15); rescale the "
            "column (e.g. divide it by 1e6)"
        )
    missing = np.isnan(numbers)
    if not allow_nan and missing.any():
        row = int(np.argmax(missing))
        raise UserError(
            f"{source}: column '{name}' has an empty cell at row {row + 1}"
            f"{_at(df, time_col, row)}; pass --fill ffill|interpolate|zero to fill gaps, or "
            "fix the file"
        )


def _fill(
    values: np.ndarray, layout: Layout, times: list[pd.Index], fill: str, columns: list[str]
) -> None:
    """Fill NaN in place, series by series, so that nothing leaks from one series to the next."""
    missing = np.isnan(values)  # (total_time, features)
    if not missing.any():
        return
    if fill == "zero":
        values[missing] = 0.0
        return
    for i, index in enumerate(times):
        a, b = layout.offsets[i], layout.offsets[i + 1]
        if not missing[a:b].any():
            continue
        empty = missing[a:b].all(axis=0)
        if empty.any():
            raise UserError(
                f"{layout.source}: column '{columns[int(np.argmax(empty))]}' has no values"
                f"{layout.where(i)}, so --fill {fill} has nothing to fill from"
            )
        block = pd.DataFrame(values[a:b], index=index)
        if fill == "ffill":
            block = block.ffill().bfill()
        else:
            dated = isinstance(index, pd.DatetimeIndex)
            block = block.interpolate(method="time" if dated else "index", limit_direction="both")
        values[a:b] = block.to_numpy(dtype=np.float32)
