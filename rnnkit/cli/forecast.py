"""`rnnkit forecast train|predict|backtest|export` (also at the top level) and `rnnkit datasets`.

Forecasting is the main job, so its verbs are registered twice by the same code: in the
``forecast`` group and, as aliases, at the top level (`rnnkit train` = `rnnkit forecast train`).
One small function per subcommand; the work is done by :mod:`rnnkit.forecasting.runner` and
:class:`rnnkit.Forecaster`, so the CLI and the Python API give the same results.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from rnnkit.cli import export as export_cli
from rnnkit.cli.common import (
    add_device_flag,
    add_group,
    add_output_flags,
    add_resume_flag,
    forecast_steps,
    log_callbacks,
    resume_dir,
)
from rnnkit.cli.forecast_flags import (
    add_all_model_flags,
    add_per_series_flag,
    check_per_series,
    data_spec,
    forecaster_config,
    holdout_size,
)
from rnnkit.config import name_list, positive_int
from rnnkit.data.datasets import list_datasets, load_classification, load_series, load_text
from rnnkit.data.io import load_table, write_table
from rnnkit.errors import UserError
from rnnkit.forecasting.backtest import backtest
from rnnkit.forecasting.evaluation import format_report
from rnnkit.forecasting.forecaster import Forecaster
from rnnkit.forecasting.runner import (
    check_data,
    finish_run,
    load_data,
    read_run_config,
    run_config,
    training_data,
    unique_run_dir,
    with_season,
    write_backtest,
    writes_files,
)
from rnnkit.runs import checkpointing, prepare_run_dir, write_json

AUTO_OUT = "runs/<data>-<cell>"


def register(subparsers: argparse._SubParsersAction) -> None:
    verbs = [register_train, register_predict, register_backtest, export_cli.register]
    add_group(
        subparsers,
        "forecast",
        help="forecast series: train, predict, backtest, export (also as top-level commands)",
        description="Forecasting from tables of series. Each action is also a top-level "
        "command: 'rnnkit train' is 'rnnkit forecast train', and so on.",
        actions=verbs,
    )
    for verb in verbs:  # the top-level aliases: the same parsers, registered again
        verb(subparsers)
    register_datasets(subparsers)


def register_train(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="fit a forecaster on a series file, score it on the held-out end",
        description="Fit on everything before the last --test-size points of each series, "
        "score those points (calibrated 80%/95% intervals: coverage, ACD, MSIS) beside the "
        "naive, seasonal naive, drift and Naive2 baselines (OWA), and write the run folder "
        "(model, config, history, metrics.json, forecast.png).",
    )
    add_all_model_flags(parser)
    parser.add_argument(
        "--test-size",
        type=holdout_size,
        default=0.2,
        help="held-out points per series: a count (24; 0: fit on everything, no test "
        "metrics) or a fraction (default: %(default)s)",
    )
    add_resume_flag(
        parser,
        help="continue the interrupted run RUN from its checkpoint, with the "
        "data and options it started with (read from RUN/config.json)",
    )
    add_per_series_flag(parser)
    add_output_flags(parser, AUTO_OUT)
    parser.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    """``rnnkit train``: read and check the data, open the run folder, fit, score, write.

    The forecaster is fitted right here (``Forecaster.fit_series -> training.fit``), so the
    command is five calls from the optimiser step.
    """
    run = resume_dir(args)
    if run is not None:
        if str(run) == AUTO_OUT:
            raise UserError("name the run to continue: --resume RUN")
        out = run
        spec, config, test = read_run_config(out)
    else:
        spec, config, test = data_spec(args), forecaster_config(args), args.test_size
    data = training_data(spec, config, test)  # bad data fails before a folder is made
    check_per_series(args.per_series, args.overwrite)
    if args.per_series and not test:
        raise UserError("--per-series scores the held-out part: give --test-size > 0")
    if run is None:
        out = Path(args.out)
        if args.out == AUTO_OUT:
            out = unique_run_dir(f"runs/{spec.name}-{config.model.cell}")
        if writes_files():
            prepare_run_dir(out, overwrite=args.overwrite)
            write_json(out / "config.json", run_config(spec, data.config, test))
    forecaster = Forecaster(config=data.config)
    saving = checkpointing(
        out,
        resume=run is not None,
        every=args.checkpoint_every,
        hint=f"rnnkit train --resume {out}",
    )
    saving["callbacks"] = log_callbacks(args)
    start = time.perf_counter()
    forecaster.fit_series(data.series, data.columns, data.lengths, frame=data.frame, **saving)
    seconds = time.perf_counter() - start
    metrics = finish_run(forecaster, data, spec, test, out, seconds, per_series=args.per_series)
    if writes_files():  # under torchrun, rank 0 alone reports
        if metrics["test"] is not None:
            print(format_report(metrics["test"]))
        plot = ", forecast.png" if metrics["test"] is not None else ""
        print(f"\nwrote {out}/ (model, metrics.json{plot}); forecast: rnnkit predict {out}")
    return 0


def register_predict(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="forecast with a trained run",
        description="Forecast --steps steps after the end of --data (default: the end of the "
        "data the run was trained with); print the table or write it to --out.",
    )
    parser.add_argument("run", metavar="RUN", help="a run folder written by 'rnnkit train'")
    parser.add_argument("--data", help="CSV/Parquet file (or dataset) to forecast from")
    parser.add_argument("--sep", help="CSV separator (default: detected)")
    parser.add_argument("--steps", type=forecast_steps, required=True, help="steps to forecast")
    parser.add_argument("--ids", type=name_list, help="comma-separated series ids (default: all)")
    parser.add_argument(
        "--future",
        metavar="FILE",
        help="CSV/Parquet file of the known-future covariates over the forecast steps: the "
        "time column, the id column (many series) and the covariates",
    )
    parser.add_argument("--out", help="write the forecasts to this .csv or .parquet file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_device_flag(parser)
    parser.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    if args.out and Path(args.out).exists() and not args.overwrite:
        raise UserError(f"{args.out} already exists; pass --overwrite to replace it")
    forecaster = Forecaster.load(args.run, device=args.device)
    data = load_table(args.data, sep=args.sep)[0] if args.data else None
    future = load_table(args.future, sep=args.sep)[0] if args.future else None
    table = forecaster.predict(args.steps, data=data, ids=args.ids, future=future)
    if args.out:
        write_table(table, args.out, overwrite=args.overwrite)
        print(f"wrote {len(table)} rows to {args.out}")
    else:
        with pd.option_context("display.max_rows", 200, "display.width", 120):
            print(table.to_string())
    return 0


def register_backtest(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="rolling-origin evaluation over several cut-offs",
        description="Cut each series at --folds successive origins --step points apart, fit "
        "(scaling included) on the part before each cut, forecast --test-size points, and "
        "report the scores per fold and averaged, beside the baselines.",
    )
    add_all_model_flags(parser)
    group = parser.add_argument_group("backtest")
    group.add_argument("--folds", type=positive_int, default=3, help="cut-offs (default: 3)")
    group.add_argument("--step", type=positive_int, help="points between cut-offs (default: test)")
    group.add_argument(
        "--test-size", type=positive_int, help="points forecast per fold (default: the horizon)"
    )
    group.add_argument(
        "--refit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fit again at every cut-off (default); --no-refit fits at the first one only",
    )
    add_per_series_flag(parser)
    add_output_flags(parser, AUTO_OUT + "-backtest")
    parser.set_defaults(func=run_backtest)


def run_backtest(args: argparse.Namespace) -> int:
    spec, config = data_spec(args), forecaster_config(args)
    check_data(spec)
    check_per_series(args.per_series, args.overwrite)
    out = Path(args.out)
    if args.out == AUTO_OUT + "-backtest":
        out = unique_run_dir(f"runs/{spec.name}-{config.model.cell}-backtest")
    if writes_files():
        prepare_run_dir(out, overwrite=args.overwrite)
    frame, columns, season = load_data(spec)
    config = with_season(config, season)
    options = {"folds": args.folds, "step": args.step, "test_size": args.test_size}
    options["refit"] = args.refit
    # --log-dir: one TensorBoard run per fold (DIR/fold-1, DIR/fold-2, ...)
    logs = (lambda k: log_callbacks(args, f"fold-{k + 1}")) if args.log_dir else None
    # six calls to the optimiser step: backtest -> fit_series -> fit -> run_epoch -> train_step
    model = Forecaster(config=config)
    result = backtest(model, frame, columns=columns, fold_callbacks=logs, **options)
    write_backtest(result, spec, config, out, **options)
    if not writes_files():  # under torchrun, rank 0 alone reports
        return 0
    if args.per_series:
        write_table(result.per_series(), args.per_series, overwrite=args.overwrite)
    for k, fold in enumerate(result.folds):
        print(
            f"fold {k + 1} (cut-off {fold.cutoff}): model MASE {fold.metrics['model']['mase']:.3f}"
        )
    print("\nmean over folds:\n" + format_report(result.mean))
    extra = f", {args.per_series}" if args.per_series else ""
    print(f"\nwrote {out}/backtest.json, backtest.png{extra}")
    return 0


def register_datasets(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "datasets",
        help="list the bundled datasets",
        description="Every dataset shipped with rnnkit: kind, size, frequency, description "
        "and licence. Series datasets work with --data NAME.",
    )
    parser.set_defaults(func=run_datasets)


def dataset_size(name: str, kind: str) -> str:
    if kind == "series":
        return f"{len(load_series(name))} points"
    if kind == "text":
        return f"{len(load_text(name)):,} characters"
    return f"{len(load_classification(name))} sequences"


def run_datasets(args: argparse.Namespace) -> int:
    for info in list_datasets():
        freq = f", frequency {info.freq}" if info.freq else ""
        season = f", season {info.season}" if info.season else ""
        print(f"{info.name} ({info.kind}, {dataset_size(info.name, info.kind)}{freq}{season})")
        print(f"    {info.description}")
        print(f"    licence: {info.licence}")
    return 0
