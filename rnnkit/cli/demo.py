"""`rnnkit demo`: the tutorial's sine experiment for every cell, with a comparison table."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from rnnkit.cli.common import add_estimator_flags, add_output_flags, config_from_args
from rnnkit.compare.demo import DemoConfig, format_table, run_demo
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
    add_estimator_flags(parser, defaults, title="demo")
    add_output_flags(parser, "runs/demo")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.threads is None:  # these tiny models train ~10% faster on one thread (measured)
        torch.set_num_threads(1)
    config = config_from_args(args, DemoConfig())
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
