"""Flag groups of the forecasting subcommands (train, backtest) and their translation to configs."""

from __future__ import annotations

import argparse

from rnnkit.cli.common import add_estimator_flags, config_from_args
from rnnkit.config import add_flags, from_args
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
