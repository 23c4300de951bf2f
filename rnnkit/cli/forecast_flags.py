"""Flag groups of the forecasting subcommands (train, backtest) and their translation to configs."""

from __future__ import annotations

import argparse

from rnnkit.cli.common import (
    add_model_flags,
    add_train_flags,
    name_list,
    positive_int,
    train_config,
)
from rnnkit.data.scaling import TRANSFORMS
from rnnkit.errors import UserError
from rnnkit.forecasting.config import STRATEGIES, ForecasterConfig
from rnnkit.forecasting.module import WINDOW_NORMS
from rnnkit.forecasting.runner import DataSpec
from rnnkit.models import ModelConfig
from rnnkit.training import TrainConfig

DEFAULTS = ForecasterConfig()


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


def add_forecast_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("forecasting")
    group.add_argument(
        "--window", type=positive_int, help="past steps per forecast (default: 3 seasons, >= 12)"
    )
    group.add_argument(
        "--horizon", type=positive_int, help="steps per network call, direct (default: 1 season)"
    )
    group.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=DEFAULTS.strategy,
        help="direct: horizon steps per call; recursive: one step, fed back (default: %(default)s)",
    )
    group.add_argument(
        "--likelihood",
        choices=("gaussian", "quantile"),
        help="add 80%%/95%% intervals: gaussian (mean + scale) or quantile (pinball loss)",
    )
    group.add_argument(
        "--season", type=positive_int, help="season length (default: from the frequency)"
    )
    group.add_argument(
        "--transform",
        choices=TRANSFORMS,
        default=DEFAULTS.transform,
        help="auto: log where every training value is positive (default: %(default)s)",
    )
    group.add_argument(
        "--window-norm",
        choices=WINDOW_NORMS,
        default=DEFAULTS.window_norm,
        help="subtract each window's last value or mean before the network (default: %(default)s)",
    )
    group.add_argument(
        "--val-fraction",
        type=float,
        default=DEFAULTS.val_fraction,
        help="last share of each series' windows for early stopping (default: %(default)s)",
    )


def add_all_model_flags(parser: argparse.ArgumentParser) -> None:
    """Data, forecasting, model and training groups, with the forecaster's defaults."""
    add_data_flags(parser)
    add_forecast_flags(parser)
    model = ModelConfig(
        cell=DEFAULTS.cell,
        hidden_size=DEFAULTS.hidden_size,
        num_layers=DEFAULTS.num_layers,
        dropout=DEFAULTS.dropout,
    )
    add_model_flags(parser, model)
    add_train_flags(parser, train_defaults())
    for action in parser._actions:
        if action.dest == "epochs":
            action.help = "maximum epochs (default: about 450 optimiser steps, 5 to 150 epochs)"


def train_defaults() -> TrainConfig:
    return TrainConfig(
        epochs=DEFAULTS.epochs,  # type: ignore[arg-type]  # None: automatic
        batch_size=DEFAULTS.batch_size,
        lr=DEFAULTS.lr,
        weight_decay=DEFAULTS.weight_decay,
        clip_norm=DEFAULTS.clip_norm,
        patience=DEFAULTS.patience,
        seed=DEFAULTS.seed,
    )


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
    if args.bidirectional:
        raise UserError("--bidirectional cannot forecast: the future is not an input")
    if not 0.0 <= args.val_fraction < 1.0:
        raise UserError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
    train = train_config(args, train_defaults())
    return ForecasterConfig.from_options(
        {
            "cell": args.cell,
            "backend": args.backend,
            "hidden_size": args.hidden_size,
            "num_layers": args.layers,
            "dropout": args.dropout,
            "window": args.window,
            "horizon": args.horizon,
            "strategy": args.strategy,
            "likelihood": args.likelihood,
            "season": args.season,
            "transform": args.transform,
            "window_norm": args.window_norm,
            "val_fraction": args.val_fraction,
            "epochs": args.epochs,
            "lr": train.lr,
            "batch_size": train.batch_size,
            "clip_norm": train.clip_norm,
            "patience": train.patience,
            "seed": train.seed,
            "device": args.device,
            "progress": train.progress,
            "precision": train.precision,
            "compile": train.compile,
        }
    )
