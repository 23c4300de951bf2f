"""Flag types and flag groups shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import torch

from rnnkit import runs
from rnnkit.cli.config_file import add_config_flag
from rnnkit.config import (
    add_flags,
    from_args,
    non_negative_int,
    option_names,
    positive_int,
)
from rnnkit.models import ModelConfig
from rnnkit.training import TrainConfig, tensorboard

C = TypeVar("C")


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``rnnkit demo: error: ...``, exit code 2) that keeps the
    flags it declares in ``options`` (its own and its groups'), which ``--config`` files use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.options: list[argparse.Action] = []  # before __init__, which adds --help
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.options.append(action)
        return action

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        return _Recorded(super().add_argument_group(*args, **kwargs), self.options)

    def add_mutually_exclusive_group(self, **kwargs: Any) -> Any:
        return _Recorded(super().add_mutually_exclusive_group(**kwargs), self.options)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Recorded:
    """An argument group whose flags are also recorded in its parser's ``options``."""

    def __init__(self, group: Any, options: list[argparse.Action]) -> None:
        self.group, self.options = group, options

    def __getattr__(self, name: str) -> Any:  # everything else is the group's own
        return getattr(self.group, name)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action: argparse.Action = self.group.add_argument(*args, **kwargs)
        self.options.append(action)
        return action

    def add_mutually_exclusive_group(self, **kwargs: Any) -> _Recorded:
        return _Recorded(self.group.add_mutually_exclusive_group(**kwargs), self.options)


def add_group(
    subparsers: argparse._SubParsersAction,
    name: str,
    *,
    help: str,
    description: str,
    actions: Sequence[Callable[[argparse._SubParsersAction], None]],
) -> argparse.ArgumentParser:
    """A command with actions (``rnnkit lm train``): ``actions`` each register one."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help, description=description
    )
    verbs = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for register in actions:
        register(verbs)
    return parser


MAX_FORECAST_STEPS = 100_000  # beyond this a forecast is a mistake (or a job for pieces)


def forecast_steps(text: str) -> int:
    """A positive number of forecast steps, at most MAX_FORECAST_STEPS."""
    value = positive_int(text)
    if value > MAX_FORECAST_STEPS:
        raise argparse.ArgumentTypeError(
            f"{value} steps is more than the {MAX_FORECAST_STEPS} rnnkit forecasts in one call"
        )
    return value


MODEL_ONLY = ("input_size", "output_size")


def add_model_flags(
    parser: argparse.ArgumentParser, defaults: ModelConfig, *, skip: tuple[str, ...] = ()
) -> None:
    """The model group, generated from :class:`ModelConfig` (cell, backend, sizes, dropout)."""
    add_flags(parser, defaults, titles={"ModelConfig": "model"}, skip=skip)


def add_backend_flag(parser: argparse.ArgumentParser) -> None:
    """--backend alone (for the commands that take a list of cells)."""
    others = tuple(n for n in option_names(ModelConfig()) if n != "backend")
    add_flags(parser, ModelConfig(), titles={"ModelConfig": "model"}, skip=others)


TITLES = {
    "ModelConfig": "model",
    "TrainConfig": "training",
    "ForecastSettings": "forecasting",
    "AcousticConfig": "model",
    "FeatureConfig": "features",
}  # flag groups, by config class


def add_estimator_flags(
    parser: argparse.ArgumentParser,
    defaults: Any,
    *,
    title: str = "options",
    helps: dict[str, str] | None = None,
    skip: tuple[str, ...] = (),
    log_dir: bool = False,
) -> None:
    """Every option of an estimator's config ``defaults`` (model, application, training groups,
    generated from the dataclasses), ``--config FILE``, and the shared run options (with
    ``log_dir``: ``--log-dir``, for the commands that give :func:`log_callbacks` to ``fit``)."""
    add_config_flag(parser)
    titles = {**TITLES, type(defaults).__name__: title}
    add_flags(parser, defaults, titles=titles, helps=helps, skip=skip)
    add_run_flags(parser, log_dir=log_dir)


def add_train_flags(parser: argparse.ArgumentParser, defaults: TrainConfig) -> None:
    """The training group alone (for commands whose model flags differ), and the run options."""
    add_estimator_flags(parser, defaults)


def add_run_flags(
    parser: argparse.ArgumentParser,
    *,
    threads: int | None = None,
    checkpoints: bool = True,
    log_dir: bool = False,
) -> None:
    """How a command runs (not what it trains): device, threads, checkpoints, progress, logs."""
    group = parser.add_argument_group("running")
    add_device_flag(group)
    if log_dir:
        group.add_argument(
            "--log-dir",
            metavar="DIR",
            type=log_dir_path,
            help="write TensorBoard scalars (loss, lr, gradient norm, validation loss) under "
            "DIR; needs pip install 'rnnkit[tensorboard]'",
        )
    if checkpoints:
        group.add_argument(
            "--checkpoint-every",
            type=non_negative_int,
            default=0,
            metavar="STEPS",
            help="with a run folder, also checkpoint every STEPS optimiser steps, not only at "
            "the end of every epoch (default: %(default)s)",
        )
    group.add_argument(
        "--threads",
        type=positive_int,
        default=threads,
        help="CPU threads for torch (default: "
        + ("torch's choice)" if threads is None else "%(default)s; small models run fastest so)"),
    )
    group.add_argument(
        "--no-progress", action="store_true", help="no progress bar; log lines instead"
    )


def log_dir_path(text: str) -> Path:
    """A folder for TensorBoard logs (new or existing, not a file), tensorboard installed:
    checked as the flags are read, so a missing package stops a command before it writes."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"'{text}' is a file, not a folder")
    if not tensorboard.available():
        raise argparse.ArgumentTypeError(tensorboard.MISSING)
    return path


def add_device_flag(group: argparse._ActionsContainer) -> None:
    """--device, the same for every command that trains or runs a model."""
    group.add_argument(
        "--device", default="auto", help="auto, cpu, cuda or mps (default: %(default)s)"
    )


def config_from_args(args: argparse.Namespace, defaults: C) -> C:
    """``defaults`` (a config dataclass) with the parsed flags; applies --threads and
    --no-progress (a progress bar only on a terminal)."""
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    config = from_args(defaults, args)
    train = config if isinstance(config, TrainConfig) else getattr(config, "train", None)
    if isinstance(train, TrainConfig):
        train.progress = not args.no_progress and sys.stderr.isatty()
    return config


def train_config(args: argparse.Namespace, defaults: TrainConfig) -> TrainConfig:
    """A TrainConfig from the training flags (other fields keep ``defaults``)."""
    return config_from_args(args, defaults)


def add_output_flags(parser: argparse.ArgumentParser, default: str) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--out", default=default, help="run folder to write (default: %(default)s)")
    group.add_argument(
        "--overwrite", action="store_true", help="allow writing into a non-empty --out folder"
    )


RESUME_OUT = ""  # what a bare --resume holds: the run folder is --out
RESUME_HELP = (
    "continue the interrupted run RUN (default: --out) from its checkpoint; give the data "
    "and flags it started with (checked against RUN/config.json)"
)


def add_resume_flag(parser: argparse.ArgumentParser, help: str) -> None:
    """--resume RUN, the same for every training command (``help`` says what RUN supplies)."""
    parser.add_argument(
        "--resume", metavar="RUN", nargs="?", const=RESUME_OUT, default=None, help=help
    )


def resume_dir(args: argparse.Namespace) -> Path | None:
    """The run folder ``--resume RUN`` names (a bare ``--resume``: ``--out``), or None."""
    if args.resume is None:
        return None
    return Path(args.resume or args.out)


def open_run(args: argparse.Namespace, config: dict[str, Any], same: list[str]) -> Path:
    """The run folder --out: a new one, or with --resume RUN the interrupted one (see runs)."""
    run = resume_dir(args)
    out = run or args.out
    return runs.open_run(out, config, resume=run is not None, overwrite=args.overwrite, same=same)


def checkpointing(out: Path, args: argparse.Namespace, command: str) -> dict[str, Any]:
    """The options of ``fit`` for a command run into ``out``: checkpoints, and the
    TensorBoard logger of ``--log-dir`` (:func:`log_callbacks`)."""
    hint = f"the same '{command}' command with --resume"
    resume = args.resume is not None
    saving = runs.checkpointing(out, resume=resume, every=args.checkpoint_every, hint=hint)
    return {**saving, "callbacks": log_callbacks(args)}


def log_callbacks(args: argparse.Namespace, name: str | None = None) -> list[object]:
    """``fit``'s callbacks for ``--log-dir DIR`` (a TensorBoard logger writing into DIR, or
    DIR/``name``), or none; a one-line error if tensorboard is missing or DIR is a file."""
    log_dir = getattr(args, "log_dir", None)
    if log_dir is None:
        return []
    return tensorboard.tensorboard_callbacks(Path(log_dir) / name if name else Path(log_dir))
