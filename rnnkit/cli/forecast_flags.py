"""Flag groups of the forecasting subcommands (train, backtest) and their translation to configs."""

from __future__ import annotations

import argparse

from rnnkit.cli.common import add_estimator_flags, config_from_args
from rnnkit.config import name_list
from rnnkit.forecasting.config import ForecasterConfig
from rnnkit.forecasting.runner import DataSpec


def holdout_size(text: str) -> int | float:
    """A count of points (``24``) or a fraction of each series (``0.2``)."""
    try:
        value: int | float = float(text) if "." in text else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a count (24) or a fraction (0.2), got '{text}'"
        ) from None
    if isinstance(value, float) and not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"a fractional test size must be in (0, 1): {text}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive test size, got {value}")
    return value


def add_data_flags(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data",
        required=required,
        help="a CSV/Parquet file, or a bundled dataset name (see 'rnnkit datasets')",
    )
    group.add_argument("--target", help="column to forecast (bundled datasets: known)")
    group.add_argument("--time-col", help="time column (default: the dataset's, or the dates)")
    group.add_argument(
        "--covariates",
        type=name_list,
        default=[],
        help="comma-separated past covariate columns (inputs only)",
    )
    group.add_argument("--id-col", help="series id column: long format, one global model")
    group.add_argument(
        "--fill", choices=("ffill", "interpolate", "zero"), help="fill missing values this way"
    )
    group.add_argument("--sep", help="CSV separator (default: detected)")
    group.add_argument(
        "--freq", help="pandas frequency of the time column, e.g. D, h, MS (default: inferred)"
    )


def add_all_model_flags(parser: argparse.ArgumentParser, *, data_required: bool = True) -> None:
    """Data flags, then every ForecasterConfig option (model, forecasting, training groups,
    generated from the dataclasses with the forecaster's defaults) and the run options."""
    add_data_flags(parser, required=data_required)
    helps = {"epochs": "maximum epochs (default: about 450 optimiser steps, 5 to 150 epochs)"}
    skip = ("bidirectional",)  # the future is not an input
    add_estimator_flags(parser, ForecasterConfig(), title="forecaster", helps=helps, skip=skip)


def data_spec(args: argparse.Namespace) -> DataSpec:
    return DataSpec(
        source=args.data,
        target=args.target,
        time_col=args.time_col,
        covariates=list(args.covariates),
        id_col=args.id_col,
        fill=args.fill,
        sep=args.sep,
        freq=args.freq,
    )


def forecaster_config(args: argparse.Namespace) -> ForecasterConfig:
    """The ForecasterConfig the flags ask for (checked)."""
    config = config_from_args(args, ForecasterConfig())
    config.device = args.device
    config.check()
    return config
