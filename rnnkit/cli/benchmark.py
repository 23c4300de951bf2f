"""`rnnkit benchmark m4`: the forecaster's defaults on an M4 subset, scored as M4 scored them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from rnnkit.cli.common import (
    add_estimator_flags,
    add_output_flags,
    config_from_args,
)
from rnnkit.cli.forecast_flags import add_per_series_flag, check_per_series
from rnnkit.config import int_list
from rnnkit.data.io import write_table
from rnnkit.forecasting.config import TRAIN_HELPS, ForecasterConfig
from rnnkit.forecasting.m4 import SUBSETS, read_m4
from rnnkit.forecasting.m4_benchmark import format_table, run_m4_benchmark
from rnnkit.runs import prepare_run_dir

WHERE = "the official files: GitHub Mcompetitions/M4-methods, Dataset/Train and Dataset/Test"


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("benchmark", help="public benchmarks (M4)")
    verbs = group.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    parser = verbs.add_parser(
        "m4",
        help="fit the forecaster on an M4 subset, score sMAPE / MASE / OWA beside Naive2",
        description="Fit one global forecaster per seed on every series of an M4 subset "
        "(the whole training file), forecast each series' horizon, and score the official test "
        f"file beside Naive, seasonal naive, Naive2 and the published results. Data: {WHERE}.",
    )
    parser.add_argument(
        "--subset", required=True, choices=sorted(SUBSETS), help="which M4 subset to score"
    )
    parser.add_argument(
        "--data-dir", required=True, help="folder with {Subset}-train.csv and {Subset}-test.csv"
    )
    parser.add_argument("--seeds", type=int_list, default=[0], help="e.g. 0,1,2 (default: 0)")
    add_estimator_flags(
        parser, ForecasterConfig(), title="forecaster", helps=TRAIN_HELPS, skip=("bidirectional",)
    )
    add_per_series_flag(parser)
    add_output_flags(parser, "runs/m4")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args, ForecasterConfig())
    config.device = args.device
    config.check()
    check_per_series(args.per_series, args.overwrite)
    train, test = read_m4(args.data_dir, args.subset)  # a bad folder fails before --out is made
    out = prepare_run_dir(Path(args.out), overwrite=args.overwrite)
    defaults = ForecasterConfig().options()
    changed = {k: v for k, v in config.options().items() if v != defaults[k]}
    summary = run_m4_benchmark(
        train,
        test,
        args.subset,
        out,
        seeds=args.seeds,
        options=changed,
        progress=config.train.progress,
    )
    if args.per_series:  # the first seed's table, as per_series.csv
        table = pd.read_csv(out / "per_series.csv")
        write_table(table, args.per_series, overwrite=args.overwrite)
    print(format_table(summary))
    print(
        f"\nwrote {out}/metrics.json, table.md, forecasts_seed*.csv, per_series.csv, examples.png"
    )
    return 0
