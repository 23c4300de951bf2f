"""`rnnkit compare` on a real series (a bundled dataset or the user's CSV/Parquet file).

Each run is a :class:`rnnkit.forecasting.Forecaster` fitted on all but each series' last 20% and
scored on that holdout by its own ``evaluate``: the metric is MASE, the baseline the seasonal
naive forecast's MASE on the same points. A real series is never forecast near-exactly, so a run
counts as solved when it beats the seasonal naive by at least 10% (MASE <= 0.9 x baseline's).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from rnnkit.data.io import load_table
from rnnkit.errors import UserError
from rnnkit.forecasting.forecaster import Forecaster
from rnnkit.models import count_parameters

SERIES_SOLVED_FRACTION = 0.9
TEST_SIZE = 0.2  # each series' last 20% is the holdout, as in the tutorial's split


@dataclass
class SeriesTask:
    """A table of one or more series, how to read it, and (after the first run) its baseline."""

    name: str  # the dataset name or the file path
    frame: pd.DataFrame
    target: str  # the value column
    time_col: str | None  # the time column (None: the Forecaster's choice)
    length: int | None  # the Forecaster's window (None: its default, from the season)
    metric_name: str = "mase"
    baseline_name: str = "seasonal naive"
    baseline: float = float("nan")  # set from the first run's evaluation
    baseline_loss: float | None = None  # losses are on the scaled series: no common line

    @property
    def solved_below(self) -> float:
        return SERIES_SOLVED_FRACTION * self.baseline


def load_series_task(
    source: str, target: str | None, time_col: str | None, length: int | None
) -> SeriesTask:
    """A bundled series dataset by name, or a CSV/Parquet file (``target`` then required)."""
    frame, info = load_table(source)
    if info is not None:
        target, time_col = target or info.target, time_col or info.time_col
    if target is None:
        raise UserError(f"'{source}' is a file: name its value column with --target")
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise UserError(f"no column '{target}' in '{source}'; columns: {columns}")
    return SeriesTask(source, frame, target, time_col, length)


def series_run(
    task: SeriesTask, cell: str, seed: int, options: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    """Fit one Forecaster; returns the run's measurements and its training history."""
    forecaster = Forecaster(cell=cell, seed=seed, window=task.length, **options)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    forecaster.fit(task.frame, target=task.target, time_col=task.time_col, test_size=TEST_SIZE)
    seconds = time.perf_counter() - start
    scores = forecaster.evaluate(task.frame, test_size=TEST_SIZE)
    if scores["model"]["mase"] is None:  # the training part repeats its season exactly
        raise UserError(
            f"MASE is undefined on '{task.name}': its training part repeats itself exactly "
            "(no seasonal change to scale by); compare cells on a series with some variation"
        )
    if task.baseline != task.baseline:  # NaN: the first run sets the baseline
        task.baseline = float(scores["seasonal_naive"]["mase"])
    history = forecaster.history
    assert history is not None and forecaster.module is not None
    on_cuda = forecaster.device.type == "cuda"
    run = {
        "params": count_parameters(forecaster.module),
        "test_metric": float(scores["model"]["mase"]),
        "seconds_per_epoch": statistics.median(r.seconds for r in history.records),
        "train_seconds": seconds,
        "epochs": len(history.records),
        "memory_bytes": int(torch.cuda.max_memory_allocated()) if on_cuda else None,
    }
    return run, history
