"""Known-future and static covariates of the patch model: reading, checking and scaling them.

*Known-future* inputs are the user's ``future_covariates`` columns (their values are in the
training table, and ``predict`` takes them for the forecast steps) followed by the calendar
features (:mod:`.calendar`). *Static* covariates are one value per series: numeric (scaled
over series) or categorical (embedded; a category not seen in training gets its own "unknown"
row). Raw values go into the model, which scales them with statistics fitted here on the
training part only (:class:`CovariateSpec`, saved in the network's config).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data.io import SeriesData
from rnnkit.errors import UserError, closest
from rnnkit.forecasting.calendar import PREFIX, calendar_features


@dataclass
class CovariateSpec:
    """The covariates a patch model reads and how it scales them (JSON in model.json)."""

    known: list[str] = field(default_factory=list)  # user future columns, then calendar features
    known_loc: list[float] = field(default_factory=list)  # per known input (calendar: 0)
    known_scale: list[float] = field(default_factory=list)  # per known input (calendar: 1)
    static: list[str] = field(default_factory=list)  # static covariate columns
    static_loc: list[float] = field(default_factory=list)  # numeric: mean over series
    static_scale: list[float] = field(default_factory=list)  # numeric: std over series
    static_levels: list[list[str]] = field(default_factory=list)  # categorical: its categories
    static_values: dict[str, list[float]] = field(default_factory=dict)  # fitted id -> raw row

    @property
    def user_known(self) -> list[str]:
        """The known-future columns the user supplies (not calendar features)."""
        return [name for name in self.known if not name.startswith(PREFIX)]

    @property
    def calendar(self) -> list[str]:
        return [name for name in self.known if name.startswith(PREFIX)]


def known_raw(series: SeriesData, spec: CovariateSpec) -> np.ndarray:
    """(total_time, known) raw known-future inputs of every row: the user's future columns
    (the last columns of ``series.values``) and the calendar features of the row's time."""
    n_user = len(spec.user_known)
    user = series.values[:, series.values.shape[1] - n_user :] if n_user else None
    parts = [user] if user is not None else []
    if spec.calendar:
        times = [t for t in series.times]
        stamps = times[0].append(times[1:]) if len(times) > 1 else times[0]
        parts.append(calendar_features(stamps, spec.calendar))
    if not parts:
        return np.zeros((len(series.values), 0), np.float32)
    return np.concatenate(parts, axis=1).astype(np.float32)


def fit_known(series: SeriesData, lengths: np.ndarray, names: list[str], calendar: list[str]):
    """``(known names, loc, scale)``: mean and std of each user column over the training rows
    (the first ``lengths[i]`` of every series) only; 0/1 columns and calendar features are
    used as they are (a flag rare in training would otherwise become a huge input)."""
    n_user = len(names)
    first = np.asarray(series.offsets[:-1], np.int64)
    rows = np.concatenate([np.arange(s, s + int(n)) for s, n in zip(first, lengths, strict=True)])
    user = series.values[rows][:, series.values.shape[1] - n_user :] if n_user else None
    loc, scale = [], []
    for j in range(n_user):
        assert user is not None
        column = user[:, j]
        if np.isin(column, (0.0, 1.0)).all():  # a 0/1 flag (a law, a holiday) stays 0/1
            loc.append(0.0)
            scale.append(1.0)
        else:
            loc.append(float(np.mean(column)))
            std = float(np.std(column))
            scale.append(std if std > 1e-8 else 1.0)
    return names + calendar, loc + [0.0] * len(calendar), scale + [1.0] * len(calendar)


def static_columns(frame: pd.DataFrame, names: list[str], id_col: str | None, ids: list[str]):
    """Each static column's one value per series (in ``ids`` order); a column that varies
    within a series, or is empty, is a UserError."""
    source = str(frame.attrs.get("rnnkit_source", "data"))
    missing = [n for n in names if n not in frame.columns]
    if missing:
        near = closest(missing[0], list(frame.columns))
        raise UserError(f"{source}: no static covariate column '{missing[0]}'{near}")
    keys = frame[id_col].astype(str) if id_col is not None else pd.Series("series", frame.index)
    out: dict[str, list[Any]] = {}
    for name in names:
        column = frame[name]
        if column.isna().any():
            raise UserError(
                f"{source}: static covariate '{name}' has an empty value at row {_first(column)}"
            )
        values = column.groupby(keys.to_numpy(), sort=False).unique()
        for key, distinct in values.items():
            if len(distinct) > 1:
                shown = ", ".join(str(v) for v in distinct[:3])
                raise UserError(
                    f"{source}: static covariate '{name}' varies within series '{key}' "
                    f"({shown}); a static covariate has one value per series"
                )
        out[name] = [values[i][0] for i in ids]
    return out


def _first(column: pd.Series) -> int:
    return int(np.flatnonzero(column.isna().to_numpy())[0]) + 1  # 1-based, as the reader counts


def fit_static(columns: dict[str, list[Any]]) -> tuple[list[float], list[float], list[list[str]]]:
    """Numeric columns: mean and std over series; text columns: their sorted categories."""
    loc: list[float] = []
    scale: list[float] = []
    levels: list[list[str]] = []
    for values in columns.values():
        if all(_numeric(v) for v in values):
            numbers = np.asarray(values, np.float64)
            std = float(np.std(numbers))
            loc.append(float(np.mean(numbers)))
            scale.append(std if std > 1e-8 else 1.0)
            levels.append([])
        else:
            loc.append(0.0)
            scale.append(1.0)
            levels.append(sorted({str(v) for v in values}))
    return loc, scale, levels


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def static_raw(columns: dict[str, list[Any]], spec: CovariateSpec, n: int) -> np.ndarray:
    """(n series, static) raw values: numbers as they are, categories as their index (unknown:
    the number of categories)."""
    out = np.zeros((n, len(spec.static)), np.float32)
    for j, (name, levels) in enumerate(zip(spec.static, spec.static_levels, strict=True)):
        values = columns[name]
        if levels:
            where = {level: k for k, level in enumerate(levels)}
            out[:, j] = [where.get(str(v), len(levels)) for v in values]
            continue
        if not all(_numeric(v) for v in values):
            bad = next(v for v in values if not _numeric(v))
            raise UserError(f"static covariate '{name}' is numeric in training; got '{bad}'")
        out[:, j] = np.asarray(values, np.float32)
    return out


@dataclass
class CovariateData:
    """A table's covariates as a fit reads them (the known-future columns are the last
    ``len(future)`` columns of the prepared series' values)."""

    future: list[str] = field(default_factory=list)  # the user's known-future columns
    calendar: list[str] = field(default_factory=list)  # calendar features switched on
    static: dict[str, list[Any]] = field(default_factory=dict)  # one value per series

    def fit(self, series: SeriesData, lengths: np.ndarray) -> CovariateSpec:
        """The spec, scaling fitted on the first ``lengths[i]`` rows of every series."""
        known, loc, scale = fit_known(series, lengths, self.future, self.calendar)
        s_loc, s_scale, levels = fit_static(self.static)
        spec = CovariateSpec(known, loc, scale, list(self.static), s_loc, s_scale, levels)
        rows = static_raw(self.static, spec, len(series.ids))
        spec.static_values = {str(i): r.tolist() for i, r in zip(series.ids, rows, strict=True)}
        return spec


def read_covariates(
    frame: pd.DataFrame | None, columns: Any, series: SeriesData, calendar: list[str]
) -> CovariateData:
    """The covariates ``columns`` (a frames.Columns) names, read from ``frame``."""
    future = list(columns.future_covariates or [])
    statics = list(columns.static_covariates or [])
    if statics and frame is None:
        raise UserError("static covariates are read from the table: pass it (frame=...)")
    values = (
        static_columns(frame, statics, columns.id_col, [str(i) for i in series.ids])
        if statics and frame is not None
        else {}
    )
    return CovariateData(future, calendar, values)


def context_static(
    spec: CovariateSpec, ids: list[str], frame: pd.DataFrame | None, id_col: str | None
) -> np.ndarray | None:
    """(series, S) raw static covariates of ``ids``: the fitted series' own, else read from
    ``frame`` (a series the model has not seen)."""
    if not spec.static:
        return None
    if all(i in spec.static_values for i in ids):
        return np.asarray([spec.static_values[i] for i in ids], np.float32)
    if frame is None:
        new = next(i for i in ids if i not in spec.static_values)
        raise UserError(f"series '{new}' was not fitted: its static covariates must be in the data")
    return static_raw(static_columns(frame, spec.static, id_col, ids), spec, len(ids))


def scaled(values: np.ndarray, loc: list[float], scale: list[float]) -> np.ndarray:
    """``(values - loc) / scale`` column by column, as the model scales its inputs."""
    if values.shape[-1] == 0:
        return values.astype(np.float32)
    return ((values - np.asarray(loc, np.float32)) / np.asarray(scale, np.float32)).astype(
        np.float32
    )


def require_patch(model: str, columns: Any) -> None:
    """Known-future and static covariates are the patch model's (a one-line error otherwise)."""
    if model != "patch" and (columns.future_covariates or columns.static_covariates):
        raise UserError(
            "known-future and static covariates need --model patch (the classic model reads "
            "past covariates only)"
        )
