"""Flag groups of the forecasting subcommands (train, backtest) and their translation to configs."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.cli.common import add_estimator_flags, config_from_args
from rnnkit.config import add_flags, from_args
from rnnkit.data.io import CSV_SUFFIXES, PARQUET_SUFFIXES
from rnnkit.errors import UserError
from rnnkit.forecasting.config import TRAIN_HELPS, ForecasterConfig
from rnnkit.forecasting.runner import DataSpec


def holdout_size(text: str) -> int | float:
    """A count of points (``24``; 0: fit on everything) or a fraction of each series (``0.2``)."""
    try:
        value: int | float = float(text) if "." in text else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a count (24) or a fraction (0.2), got '{text}'"
        ) from None
    if isinstance(value, float) and not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"a fractional test size must be in (0, 1): {text}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a test size >= 0, got {value}")
    return value


def add_all_model_flags(parser: argparse.ArgumentParser) -> None:
    """The data flags (DataSpec), then every ForecasterConfig option (model, forecasting,
    training groups), all generated from the dataclasses, and the run options."""
    add_flags(parser, DataSpec(), titles={"DataSpec": "data"})
    helps = TRAIN_HELPS
    skip = ("bidirectional",)  # the future is not an input
    add_estimator_flags(
        parser, ForecasterConfig(), title="forecaster", helps=helps, skip=skip, log_dir=True
    )


def data_spec(args: argparse.Namespace) -> DataSpec:
    """The DataSpec the data flags ask for."""
    return from_args(DataSpec(), args)


def forecaster_config(args: argparse.Namespace) -> ForecasterConfig:
    """The ForecasterConfig the flags ask for (checked)."""
    config = config_from_args(args, ForecasterConfig())
    config.device = args.device
    config.check()
    return config


def add_per_series_flag(parser: argparse.ArgumentParser) -> None:
    """``--per-series FILE``: the per-series scores, to find the worst series."""
    parser.add_argument(
        "--per-series",
        metavar="FILE",
        help="also write one row per series (id, points, mae, rmse, mase, smape, mape, msis, "
        "coverage_80, coverage_95, each baseline's MASE; the worst MASE first) to this "
        ".csv or .parquet file",
    )


def check_per_series(path: str | None, overwrite: bool) -> None:
    """Fail on an unusable ``--per-series`` file before anything is computed or written."""
    if path is None:
        return
    file = Path(path)
    suffixes = [s.lower() for s in file.suffixes[-2:]]
    if suffixes[-1:] == [".gz"]:
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in (*CSV_SUFFIXES, *PARQUET_SUFFIXES):
        raise UserError(f"--per-series {path}: give a .csv or .parquet file name")
    if file.is_dir():
        raise UserError(f"--per-series {path} is a folder; give a file name")
    if file.exists() and not overwrite:
        raise UserError(f"--per-series {path} already exists; pass --overwrite to replace it")
