"""`rnnkit compare` (every cell on one task, same budget) and `rnnkit diagnose gradients`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import replace
from pathlib import Path

import torch

from rnnkit.cli.common import add_backend_flag, add_output_flags, add_run_flags
from rnnkit.cli.config_file import add_config_flag
from rnnkit.compare.diagnose import GradientConfig, diagnose_gradients, format_gradients
from rnnkit.compare.series import SeriesTask, load_series_task
from rnnkit.compare.suite import CompareConfig, build_task, check_cells, format_table, run_compare
from rnnkit.config import (
    add_flags,
    given,
    is_option,
    name_list,
    option_names,
    override,
    unset,
)
from rnnkit.data.datasets import DATASETS, is_dataset
from rnnkit.data.tasks import TASKS, TaskData
from rnnkit.errors import UserError, unknown
from rnnkit.models import CELLS, resolve_device
from rnnkit.runs import prepare_run_dir
from rnnkit.training import TrainConfig

TRAIN_OPTIONS = tuple(option_names(TrainConfig()))  # declared by _add_training_flags


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_compare(subparsers)
    _register_diagnose(subparsers)


def _register_compare(subparsers: argparse._SubParsersAction) -> None:
    defaults = CompareConfig()
    parser = subparsers.add_parser(
        "compare",
        help="train every cell on one task under the same budget and compare them",
        description="Train each cell on a benchmark task with the same hidden size (or "
        "parameter budget), for each seed; report the test metric against the task's trivial "
        "baseline, whether it was solved (metric <= 10% of the baseline's), parameters, "
        "seconds per epoch and memory; write compare.json and learning_curves.png to --out. "
        "Tasks: " + "; ".join(f"{name}: {about}" for name, (_, _, about) in TASKS.items()),
    )
    helps = {
        "task": f"{', '.join(TASKS)}, a bundled series dataset ("
        + ", ".join(n for n, i in DATASETS.items() if i.kind == "series")
        + ") or a CSV/Parquet file",
        "length": "sequence length T (default: the task's: "
        + ", ".join(f"{n} {d}" for n, (_, d, _) in TASKS.items())
        + ")",
        "hidden_size": f"units per layer for every cell (default: {defaults.hidden_size}); "
        "or --param-budget",
    }
    # hidden_size unset in the flags, so that one given beside --param-budget can be refused
    shown = override(defaults, {"hidden_size": None})
    titles = {"CompareConfig": "comparison"}
    add_flags(parser, shown, titles=titles, skip=TRAIN_OPTIONS, helps=helps)
    add_cells_flags(parser, defaults.cells)
    _add_training_flags(parser, defaults.train)
    add_output_flags(parser, "runs/compare")
    parser.set_defaults(func=run_compare_command)


def _add_training_flags(
    parser: argparse.ArgumentParser,
    defaults: TrainConfig,
    *,
    series: bool = True,
    helps: dict[str, str] | None = None,
    flags: dict[str, str] | None = None,
) -> None:
    """The training group, generated from TrainConfig; unset flags keep the command's defaults
    (``defaults``; with ``series``, a real series': the Forecaster's)."""
    add_config_flag(parser)
    also = "; real series: the Forecaster's" if series else ""
    shown = {
        f.name: f"{f.metadata['help']} (default: {getattr(defaults, f.name)}{also})"
        for f in dataclasses.fields(defaults)
        if is_option(f)
    }
    titles = {"TrainConfig": "training"}
    add_flags(parser, unset(defaults), titles=titles, helps={**shown, **(helps or {})}, flags=flags)
    add_run_flags(parser, threads=1, checkpoints=False)


def _progress(args: argparse.Namespace) -> bool:
    return not args.no_progress and sys.stderr.isatty()


def _task(args: argparse.Namespace, config: CompareConfig) -> TaskData | SeriesTask:
    """The synthetic task by name, else a bundled series dataset or a file (via the Forecaster)."""
    if args.task in TASKS:
        return build_task(config)  # bad lengths fail here, before anything is written
    looks_like_file = Path(args.task).suffix != "" or Path(args.task).exists()
    if not (is_dataset(args.task) or looks_like_file):
        series = [name for name, info in DATASETS.items() if info.kind == "series"]
        raise unknown("task", args.task, [*TASKS, *series])
    if config.param_budget is not None:
        raise UserError("--param-budget works for the synthetic tasks; use --hidden-size here")
    return load_series_task(config.task, config.target, config.time_col, config.length)


def run_compare_command(args: argparse.Namespace) -> int:
    defaults = CompareConfig()
    torch.set_num_threads(args.threads)
    options = given(defaults.train, args)
    if args.hidden_size is not None and args.param_budget is not None:
        raise UserError("argument --param-budget: not allowed with argument --hidden-size")
    flags = {n: getattr(args, n) for n in option_names(defaults) if n not in TRAIN_OPTIONS}
    config = replace(
        override(defaults, {n: v for n, v in flags.items() if v is not None or n != "hidden_size"}),
        cells=args.cells,
        backend=args.backend,
        train=replace(defaults.train, **options, progress=_progress(args)),
        series_options=options,
    )
    check_cells(config)
    task = _task(args, config)
    device = resolve_device(args.device)
    out = prepare_run_dir(Path(args.out), overwrite=args.overwrite)
    summary = run_compare(config, task, out, device)
    print(format_table(summary))
    print(f"\nwrote {out}/compare.json, learning_curves.png")
    return 0


def _register_diagnose(subparsers: argparse._SubParsersAction) -> None:
    defaults = GradientConfig()
    parser = subparsers.add_parser(
        "diagnose", help="diagnostics: 'gradients' plots ||dL/dh_t|| against t per cell"
    )
    kinds = parser.add_subparsers(dest="diagnostic", metavar="DIAGNOSTIC", required=True)
    grads = kinds.add_parser(
        "gradients",
        help="the vanishing gradient: ||dL/dh_t|| against t on the adding problem",
        description="For each cell, the norm of dL/dh_t (h_t the top layer's state at step t, "
        "L the squared error of the prediction read at the last step of the adding problem) "
        "against t, at initialisation and after --train-epochs epochs; writes gradients.json "
        "and gradients.png (log scale) to --out.",
    )
    add_cells_flags(grads, defaults.cells)
    titles = {"GradientConfig": "diagnostic"}
    add_flags(grads, defaults, titles=titles, skip=TRAIN_OPTIONS)
    epochs = "epochs of training between the two measurements"
    _add_training_flags(
        grads,
        defaults.train,
        series=False,
        helps={"epochs": f"{epochs} (default: {defaults.train.epochs})"},
        flags={"epochs": "--train-epochs"},
    )
    add_output_flags(grads, "runs/diagnose")
    grads.set_defaults(func=run_gradients_command)


def run_gradients_command(args: argparse.Namespace) -> int:
    defaults = GradientConfig()
    torch.set_num_threads(args.threads)
    flags = {n: getattr(args, n) for n in option_names(defaults) if n not in TRAIN_OPTIONS}
    config = replace(
        override(defaults, flags),
        cells=args.cells,
        backend=args.backend,
        train=replace(defaults.train, **given(defaults.train, args), progress=_progress(args)),
    )
    if config.length < 2:
        raise UserError(f"the adding problem needs --length >= 2, got {config.length}")
    check_cells(CompareConfig(cells=config.cells, backend=config.backend))
    device = resolve_device(args.device)
    out = prepare_run_dir(Path(args.out), overwrite=args.overwrite)
    summary = diagnose_gradients(config, out, device)
    print(format_gradients(summary))
    print(f"\nwrote {out}/gradients.json, gradients.png")
    return 0


def add_cells_flags(parser: argparse.ArgumentParser, cells: list[str]) -> None:
    """--cells (a list: these commands run every cell under the same budget) and --backend."""
    parser.add_argument(
        "--cells",
        type=name_list,
        default=cells,
        help=f"comma-separated, from {', '.join(CELLS)} (default: {','.join(cells)})",
    )
    add_backend_flag(parser)
