"""`rnnkit demo`: the tutorial's sine experiment for every cell, with a comparison table."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from rnnkit.cli.common import add_backend_flag, add_output_flags, add_train_flags, train_config
from rnnkit.compare.demo import DemoConfig, format_table, run_demo
from rnnkit.config import name_list, positive_int
from rnnkit.errors import UserError
from rnnkit.models import ModelConfig, SequenceModel, resolve_device
from rnnkit.runs import prepare_run_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    defaults = DemoConfig()
    parser = subparsers.add_parser(
        "demo",
        help="the tutorial's sine experiment for each cell",
        description="Train each cell on the tutorial's sine wave (windows of 10 past values "
        "predicting the next, 80/20 chronological split), compare with the last-value baseline, "
        "and write metrics.json, the models and PNG plots to --out.",
    )
    parser.add_argument(
        "--cells",
        type=name_list,
        default=defaults.cells,
        help="comma-separated cells to run (default: rnn,lstm,gru)",
    )
    parser.add_argument(
        "--hidden-size",
        type=positive_int,
        default=defaults.hidden_size,
        help="units (default: %(default)s)",
    )
    parser.add_argument(
        "--layers",
        type=positive_int,
        default=defaults.num_layers,
        help="layers (default: %(default)s)",
    )
    parser.add_argument(
        "--window",
        type=positive_int,
        default=defaults.window,
        help="past values per window (default: %(default)s)",
    )
    parser.add_argument(
        "--samples",
        type=positive_int,
        default=defaults.num_samples,
        help="points in the sine series (default: %(default)s)",
    )
    add_backend_flag(parser)
    add_train_flags(parser, defaults.train)
    add_output_flags(parser, "runs/demo")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    defaults = DemoConfig()
    if args.threads is None:  # these tiny models train ~10% faster on one thread (measured)
        torch.set_num_threads(1)
    config = DemoConfig(
        cells=args.cells,
        backend=args.backend,
        num_samples=args.samples,
        window=args.window,
        hidden_size=args.hidden_size,
        num_layers=args.layers,
        train=train_config(args, defaults.train),
    )
    for cell in config.cells:  # fail on a bad cell name before anything is written
        SequenceModel(ModelConfig(cell=cell, backend=config.backend, hidden_size=1))
    if config.window + 1 > config.num_samples:
        raise UserError(
            f"--window {config.window} is longer than the {config.num_samples}-point series"
        )
    device = resolve_device(args.device)
    out = prepare_run_dir(Path(args.out), overwrite=args.overwrite)
    summary = run_demo(config, out, device)
    print(format_table(summary["results"]))
    print(f"\nwrote {out}/metrics.json, predictions.png, learning_curves.png")
    return 0
