"""Flag types and flag groups shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

import torch

from rnnkit.cli.config_file import add_config_flag
from rnnkit.models import BACKENDS, CELLS, ModelConfig
from rnnkit.training import PRECISIONS, TrainConfig


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``rnnkit demo: error: ...`` and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


MAX_FORECAST_STEPS = 100_000  # beyond this a forecast is a mistake (or a job for pieces)


def forecast_steps(text: str) -> int:
    """A positive number of forecast steps, at most MAX_FORECAST_STEPS."""
    value = positive_int(text)
    if value > MAX_FORECAST_STEPS:
        raise argparse.ArgumentTypeError(
            f"{value} steps is more than the {MAX_FORECAST_STEPS} rnnkit forecasts in one call"
        )
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got '{text}'") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got '{text}'") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def name_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def int_list(text: str) -> list[int]:
    try:
        return [int(n) for n in name_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got '{text}'"
        ) from None


def add_model_flags(parser: argparse.ArgumentParser, defaults: ModelConfig) -> None:
    """--cell, --backend, --hidden-size, --layers, --dropout, --bidirectional."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--cell",
        default=defaults.cell,
        help=f"recurrent cell: {', '.join(CELLS)} (default: %(default)s)",
    )
    add_backend_flag(group)
    group.add_argument(
        "--hidden-size",
        type=positive_int,
        default=defaults.hidden_size,
        help="units per layer (default: %(default)s)",
    )
    group.add_argument(
        "--layers",
        type=positive_int,
        default=defaults.num_layers,
        help="stacked recurrent layers (default: %(default)s)",
    )
    group.add_argument(
        "--dropout",
        type=fraction,
        default=defaults.dropout,
        help="dropout between layers (default: %(default)s)",
    )
    group.add_argument(
        "--bidirectional",
        action="store_true",
        help="read sequences in both directions (not for forecasting)",
    )


def add_backend_flag(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="torch: torch.nn's fused cells; rnnkit: rnnkit's own written-out cells; "
        "auto: torch.nn where it has the cell (default: %(default)s)",
    )


def add_train_flags(parser: argparse.ArgumentParser, defaults: TrainConfig) -> None:
    """The training group: epochs, batch size, lr, clipping, patience, seed, device, precision,
    compile, checkpoints, threads."""
    add_config_flag(parser)
    group = parser.add_argument_group("training")
    group.add_argument(
        "--epochs",
        type=positive_int,
        default=defaults.epochs,
        help="maximum epochs (default: %(default)s)",
    )
    group.add_argument(
        "--batch-size",
        type=positive_int,
        default=defaults.batch_size,
        help="examples per step (default: %(default)s)",
    )
    group.add_argument(
        "--lr",
        type=positive_float,
        default=defaults.lr,
        help="peak learning rate (default: %(default)s)",
    )
    group.add_argument(
        "--clip",
        type=float,
        default=defaults.clip_norm,
        help="max gradient norm, 0 to disable (default: %(default)s)",
    )
    group.add_argument(
        "--patience",
        type=non_negative_int,
        default=defaults.patience,
        help="early stopping: epochs without validation improvement, 0 disables "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="fixes every random source (default: %(default)s)",
    )
    group.add_argument(
        "--device", default="auto", help="auto, cpu, cuda or mps (default: %(default)s)"
    )
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=defaults.precision,
        help="auto: bf16 autocast on CUDA, fp32 elsewhere; bf16 also works on the CPU "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the model for training (mostly helps on a GPU; on the CPU the "
        "compile time rarely pays off for small recurrent models)",
    )
    group.add_argument(
        "--checkpoint-every",
        type=non_negative_int,
        default=0,
        metavar="STEPS",
        help="with a run folder, also checkpoint every STEPS optimiser steps, not only at the "
        "end of every epoch (default: %(default)s)",
    )
    group.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="CPU threads for torch (default: torch's choice)",
    )
    group.add_argument(
        "--no-progress", action="store_true", help="no progress bar; log lines instead"
    )


def train_config(args: argparse.Namespace, defaults: TrainConfig) -> TrainConfig:
    """A TrainConfig from the training flags (other fields keep ``defaults``)."""
    if args.clip < 0:
        raise argparse.ArgumentTypeError("--clip must be >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    return TrainConfig(
        **{
            **defaults.__dict__,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "clip_norm": args.clip,
            "patience": args.patience,
            "seed": args.seed,
            "progress": not args.no_progress and sys.stderr.isatty(),
            "precision": args.precision,
            "compile": args.compile,
        }
    )


def add_output_flags(parser: argparse.ArgumentParser, default: str) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--out", default=default, help="run folder to write (default: %(default)s)")
    group.add_argument(
        "--overwrite", action="store_true", help="allow writing into a non-empty --out folder"
    )
