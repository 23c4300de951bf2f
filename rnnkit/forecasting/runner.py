"""What ``rnnkit train`` and ``rnnkit backtest`` do with a table, shared by the CLI and benches.

A *data spec* names the table and its columns; :func:`load_data` reads it (a bundled dataset
fills in its target, time column and season). :func:`training_data` cuts each series' training
part, :func:`finish_run` scores the held-out part beside the baselines and writes the run
directory; only the main process writes (torchrun).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.config import name_list, option, override
from rnnkit.data.io import SeriesData, load_table, season_length, write_table
from rnnkit.errors import UserError
from rnnkit.forecasting.backtest import Backtest
from rnnkit.forecasting.config import ForecasterConfig, horizon_for_test, resolve
from rnnkit.forecasting.covariates import read_covariates, require_patch
from rnnkit.forecasting.evaluation import per_series_table, report
from rnnkit.forecasting.forecaster import Forecaster
from rnnkit.forecasting.frames import Columns, holdout_lengths, prepare
from rnnkit.forecasting.patch_training import layout
from rnnkit.plots import plot_backtest, plot_forecast
from rnnkit.runs import environment, read_json, write_json
from rnnkit.training.distributed import is_main_process


@dataclass
class DataSpec:
    """Which table to read and which of its columns to use: the data flags (``--data`` is
    ``source``), saved in config.json."""

    source: str | None = option(
        None, "a CSV/Parquet file, or a bundled dataset name (see 'rnnkit datasets')", flag="--data"
    )
    target: str | None = option(None, "column to forecast (bundled datasets: known)")
    time_col: str | None = option(None, "time column (default: the dataset's, or the dates)")
    covariates: list[str] = option(
        [], "comma-separated past covariate columns (inputs only)", type=name_list
    )
    future_covariates: list[str] = option(
        [],
        "comma-separated known-future covariate columns (patch model): inputs over the window "
        "and the forecast steps; 'rnnkit predict --future FILE' gives their future values",
        type=name_list,
    )
    static_covariates: list[str] = option(
        [],
        "comma-separated static covariate columns (patch model): one value per series, "
        "numeric (scaled) or text (embedded)",
        type=name_list,
    )
    id_col: str | None = option(None, "series id column: long format, one global model")
    fill: str | None = option(
        None, "fill missing values this way", choices=("ffill", "interpolate", "zero")
    )
    sep: str | None = option(None, "CSV separator (default: detected)")
    freq: str | None = option(
        None, "pandas frequency of the time column, e.g. D, h, MS (default: inferred)"
    )

    @property
    def name(self) -> str:
        """The table's short name (a file's stem), for run folders and titles."""
        return Path(self.source or "data").stem


def writes_files() -> bool:
    """Rank 0 only, also before fit() has joined torchrun's process group."""
    return is_main_process()


def load_data(spec: DataSpec) -> tuple[pd.DataFrame, Columns, int | None]:
    """The table, its columns (bundled defaults filled in) and the dataset's season if known."""
    if spec.source is None:
        raise UserError("give the series: --data FILE or a bundled dataset name")
    frame, info = load_table(spec.source, sep=spec.sep)
    target = spec.target or (info.target if info else None)
    if target is None:
        raise UserError(f"name the column to forecast in {spec.source}: --target COLUMN")
    time_col = spec.time_col or (info.time_col if info else None)
    id_col = spec.id_col or (info.id_col if info else None)
    columns = Columns(target, time_col, list(spec.covariates), id_col, spec.fill, spec.freq)
    columns.future_covariates = list(spec.future_covariates)
    columns.static_covariates = list(spec.static_covariates)
    return frame, columns, (info.season if info else None)


def with_season(config: ForecasterConfig, season: int | None) -> ForecasterConfig:
    """``config`` with the dataset's season filled in where none was asked for."""
    if config.forecast.season is None and season is not None:
        return override(config, {"season": season})
    return config


def check_data(spec: DataSpec) -> None:
    """Fail on a bad table before anything is written (read and validate it)."""
    frame, columns, _ = load_data(spec)
    series = prepare(frame, columns)
    read_covariates(frame, columns, series, [])  # static covariates: constant per series


@dataclass
class TrainingData:
    """A table read for ``rnnkit train``: its series, the training part of each, the config."""

    frame: pd.DataFrame
    columns: Columns
    series: SeriesData
    lengths: np.ndarray  # (series,) training points of each (before the held-out end)
    config: ForecasterConfig  # with the dataset's season filled in


def training_data(spec: DataSpec, config: ForecasterConfig, test_size: int | float) -> TrainingData:
    """Read, validate and cut the table; fails on bad data or sizes before anything is written."""
    frame, columns, season = load_data(spec)
    series = prepare(frame, columns)
    lengths = np.diff(series.offsets)
    lengths = lengths - holdout_lengths(lengths, test_size)
    config = with_season(config, season)
    require_patch(config.forecast.model, columns)
    read_covariates(frame, columns, series, [])  # static covariates: constant per series
    if config.forecast.model == "classic":
        resolve(config, season_length(series.freq), int(np.min(lengths)))
    else:
        config = horizon_for_test(config, test_size)  # the patch model: one call
        layout(series, lengths, config, len(columns.future_covariates or []))
    return TrainingData(frame, columns, series, lengths, config)


def finish_run(
    forecaster: Forecaster,
    data: TrainingData,
    spec: DataSpec,
    test_size: int | float,
    out: Path,
    seconds: float,
    per_series: str | None = None,
) -> dict[str, Any]:
    """After fitting: score the held-out end, write the run folder (rank 0); returns metrics.
    With ``test_size`` 0 there is no held-out end: no test metrics, no plot. ``per_series``:
    a file for the per-series table (:func:`~rnnkit.forecasting.evaluation.per_series_table`)."""
    held = forecaster.holdout(data.frame, test_size=test_size) if test_size else None
    assert forecaster.shape is not None and forecaster.history is not None
    history = forecaster.history
    test = None
    if held is not None:
        test = report(held.histories, held.truths, held.forecasts, forecaster.shape.season)
    metrics = {
        "test": test,
        "test_points": int(sum(len(t) for t in held.truths)) if held is not None else 0,
        "series": len(data.series),
        "window": forecaster.shape.window,
        "horizon": forecaster.shape.horizon,
        "season": forecaster.shape.season,
        "fit_seconds": seconds,
        "epochs": len(history.records),
    }
    forecaster.observe(data.frame)  # predict without --data starts after the end of the file
    if writes_files():
        forecaster.save(out, overwrite=True)
        write_json(out / "history.json", history.to_dict())
        write_json(out / "metrics.json", metrics)
        title = f"{spec.name}: {data.config.model.cell}"
        if held is not None:
            plot_forecast(held, out / "forecast.png", title=title)
        if held is not None and per_series:
            season = forecaster.shape.season
            table = per_series_table(held.ids, held.histories, held.truths, held.forecasts, season)
            write_table(table, per_series, overwrite=True)  # checked before the fit
    return metrics


def run_config(spec: DataSpec, config: ForecasterConfig, test_size: int | float) -> dict:
    """config.json: the exact settings of a run and the versions it ran with."""
    return {
        "kind": "forecast-train",
        "data": dataclasses.asdict(spec),
        "forecaster": config.options(),
        "test_size": test_size,
        "versions": environment(),
    }


def read_run_config(run: Path) -> tuple[DataSpec, ForecasterConfig, int | float]:
    """The data spec, config and test size a run was started with (for --resume)."""
    saved = read_json(run / "config.json")
    if not isinstance(saved, dict) or saved.get("kind") != "forecast-train":
        raise UserError(f"'{run / 'config.json'}' is not the config of an 'rnnkit train' run")
    try:
        spec = DataSpec(**saved["data"])
        config = ForecasterConfig.from_options(saved["forecaster"])
        test_size = saved["test_size"]
    except (KeyError, TypeError) as err:
        raise UserError(f"'{run / 'config.json'}' is incomplete ({err})") from None
    return spec, config, test_size


def write_backtest(
    result: Backtest, spec: DataSpec, config: ForecasterConfig, out: Path, **options: Any
) -> None:
    """The backtest's run folder (rank 0): config.json, backtest.json and backtest.png."""
    if writes_files():
        write_json(
            out / "config.json",
            {
                "kind": "forecast-backtest",
                "data": dataclasses.asdict(spec),
                "forecaster": config.options(),
                "backtest": {k: v for k, v in options.items() if k != "progress"},
                "versions": environment(),
            },
        )
        write_json(out / "backtest.json", result.to_dict())
        plot_backtest(result, out / "backtest.png", title=f"{spec.name} backtest")


def unique_run_dir(base: str) -> Path:
    """``base``, or ``base-2``, ``base-3``... : the first that does not exist yet."""
    path = Path(base)
    for n in range(2, 10_000):
        if not path.exists():
            return path
        path = Path(f"{base}-{n}")
    raise UserError(f"too many runs named {base}-N; pass --out")
