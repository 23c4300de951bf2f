"""The known-future inputs over the forecast steps: from a ``--future`` table, or from the
held-out rows of the data itself (evaluation, backtests)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rnnkit.data.io import SeriesData
from rnnkit.data.timecol import parse_time
from rnnkit.errors import UserError, closest
from rnnkit.forecasting.calendar import calendar_features
from rnnkit.forecasting.context import Context
from rnnkit.forecasting.covariates import CovariateSpec, known_raw
from rnnkit.forecasting.frames import future_index


def held_out_known(
    series: SeriesData, spec: CovariateSpec, ends: np.ndarray, steps: int
) -> np.ndarray:
    """(series, steps, C) raw known-future inputs of the ``steps`` rows after each cut (rows
    past a series' end repeat its last row: those forecasts are not scored)."""
    known = known_raw(series, spec)
    first = np.asarray(series.offsets[:-1], np.int64)
    last = np.asarray(series.offsets[1:], np.int64) - 1
    rows = first[:, None] + np.asarray(ends, np.int64)[:, None] + np.arange(steps)[None, :]
    return known[np.minimum(rows, last[:, None])]


def future_known(
    table: pd.DataFrame | None,
    spec: CovariateSpec,
    id_col: str | None,
    time_col: str | None,
    series: list[tuple[str, pd.Index]],
) -> np.ndarray:
    """(series, steps, known) raw known-future inputs over the forecast steps.

    ``series`` holds each forecast series' id and the timestamps (or step numbers) of its
    forecast steps. The user's columns come from ``table`` (the ``--future`` file: the time
    column, the id column for many series, the future covariates), matched on time; a missing
    table, column, series, step or value is a one-line UserError that names it.
    """
    steps = len(series[0][1])
    out = np.zeros((len(series), steps, len(spec.known)), np.float32)
    names = spec.user_known
    if names:
        if table is None:
            raise UserError(
                f"this model reads known-future covariates ({', '.join(names)}): give their "
                "values for the forecast steps (--future FILE; Python: predict(future=frame))"
            )
        out[:, :, : len(names)] = _user_future(table, names, id_col, time_col, series)
    for i, (_, times) in enumerate(series):
        out[i, :, len(names) :] = calendar_features(times, spec.calendar)
    return out


def _user_future(table, names, id_col, time_col, series) -> np.ndarray:
    source = str(table.attrs.get("rnnkit_source", "the future table"))
    needed = [c for c in (time_col, id_col, *names) if c is not None]
    for column in needed:
        if column not in table.columns:
            raise UserError(
                f"{source}: no column '{column}'{closest(column, list(table.columns))}; the "
                f"future covariates need {', '.join(needed)}"
            )
    values = {}
    for name in names:
        numbers = pd.to_numeric(table[name], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(numbers.to_numpy(np.float64)))
        if len(bad):
            shown = table[name].iloc[bad[0]]
            raise UserError(
                f"{source}: column '{name}' holds a non-numeric or empty value at row "
                f"{bad[0] + 1} ('{shown}')"
            )
        values[name] = numbers.to_numpy(np.float32)
    keys = table[id_col].astype(str).to_numpy() if id_col else np.full(len(table), "series")
    times = _times(table, time_col, keys, source)
    out = np.zeros((len(series), len(series[0][1]), len(names)), np.float32)
    for i, (name, wanted) in enumerate(series):
        wanted = wanted if time_col is not None else pd.RangeIndex(len(wanted))
        rows = np.flatnonzero(keys == name)
        if not len(rows):
            which = f"series '{name}'" if id_col else "the series"
            raise UserError(
                f"{source}: no rows for {which}; the forecast needs its {len(wanted)} steps"
            )
        lookup = pd.Series(rows, index=times[rows])
        lookup = lookup[~lookup.index.duplicated()]
        found = lookup.reindex(wanted)
        if found.isna().any():
            lacking = wanted[np.flatnonzero(found.isna().to_numpy())]
            which = f"series '{name}'" if id_col else "the series"
            raise UserError(
                f"{source}: {which} lacks {len(lacking)} of the {len(wanted)} forecast steps "
                f"(first: {_shown(lacking[0])})"
            )
        picked = found.to_numpy(np.int64)
        out[i] = np.stack([values[n][picked] for n in names], axis=1)
    return out


def _times(table: pd.DataFrame, time_col: str | None, keys: np.ndarray, source: str) -> pd.Index:
    """The future table's time column, read as the training table's is (dates or integer
    steps); without one, rows count 0, 1, ... per series and match the steps by order."""
    if time_col is None:
        return pd.Index(pd.Series(keys).groupby(keys).cumcount().to_numpy())
    return pd.Index(parse_time(table[time_col], source))


def covariate_inputs(
    context: Context, index: Tensor, future: np.ndarray | None, steps: int
) -> list[Tensor]:
    """``[known, static]`` for the patch module: (rows, window + steps, C) raw known-future
    inputs (the context's window, then ``future``) and (rows, S) raw static covariates; empty
    tensors (C or S = 0) where the model has none."""
    device, rows = context.raw.device, int(index.shape[0])
    window = int(context.raw.shape[1])
    if context.known is None or future is None:
        known = torch.zeros((rows, window + steps, 0), device=device)
    else:
        ahead = torch.as_tensor(future, dtype=torch.float32, device=device)
        known = torch.cat([context.known[index], ahead], dim=1)
    static = (
        torch.zeros((rows, 0), device=device) if context.static is None else context.static[index]
    )
    return [known, static]


def predict_known(
    spec: CovariateSpec,
    future: pd.DataFrame | None,
    fitted: Any,
    context: Context,
    rows: list[int],
    steps: int,
) -> np.ndarray | None:
    """(rows, steps, C) raw known-future inputs for ``predict`` (None: the model has none);
    ``fitted`` (a :class:`~rnnkit.forecasting.fitted.Fitted`) gives the columns and frequency."""
    if future is not None and not spec.user_known:
        raise UserError("this model reads no known-future covariates: drop the future table")
    if not spec.known:
        return None
    columns = fitted.columns
    pairs = [(context.ids[r], future_index(context.lasts[r], steps, fitted.freq)) for r in rows]
    return future_known(future, spec, columns.id_col, columns.time_col, pairs)


def _shown(time: object) -> str:
    """A timestamp as a user wrote it: the date alone at midnight."""
    if isinstance(time, pd.Timestamp) and time == time.normalize():
        return str(time.date())
    return str(time)
