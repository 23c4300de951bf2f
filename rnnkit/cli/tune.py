"""`rnnkit tune`: search the forecaster's options on a validation split, write best.toml.

The data flags and every forecaster option are the same as `rnnkit train`'s; an option given
(on the command line or in --config) is fixed, the others are searched (rnnkit.tune.space).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from rnnkit.cli.common import TITLES, add_output_flags, add_run_flags
from rnnkit.cli.config_file import add_config_flag
from rnnkit.cli.forecast_flags import data_spec, holdout_size
from rnnkit.config import add_flags, from_args, given, override, unset
from rnnkit.forecasting.config import TRAIN_HELPS, ForecasterConfig
from rnnkit.forecasting.evaluation import format_report
from rnnkit.forecasting.runner import DataSpec, training_data, unique_run_dir
from rnnkit.runs import prepare_run_dir
from rnnkit.tune import TuneSettings
from rnnkit.tune.figure import plot_trials
from rnnkit.tune.outputs import best_toml, summary, write_best, write_summary, write_trials
from rnnkit.tune.search import final_fits, require_optuna, run_search, search_data
from rnnkit.tune.space import Space

AUTO_OUT = "runs/<data>-tune"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="search the forecaster's options (Optuna), write the best as a --config file",
        description="Cut the last --val-size points off each series' training part, fit "
        "trials of the forecaster's options on the rest and score them there (the test part "
        "is never seen); prune hopeless trials; then fit the best options and the defaults "
        "on the whole training part and score both on the test part. Options given here are "
        "fixed, the others searched. Writes trials.csv, trials.png, best.toml (for 'rnnkit "
        "train --config') and summary.json. Needs pip install 'rnnkit[tune]'.",
    )
    add_flags(parser, DataSpec(), titles={"DataSpec": "data"})
    parser.add_argument(
        "--test-size",
        type=holdout_size,
        default=0.2,
        help="held-out points per series, never seen by the search: a count or a fraction "
        "(default: %(default)s; 0: no test part, no final scores)",
    )
    add_config_flag(parser)
    helps = {**TRAIN_HELPS, "seed": "fixes every random source and the search's sampler"}
    titles = {**TITLES, "ForecasterConfig": "forecaster (given: fixed; not given: searched)"}
    add_flags(
        parser, unset(ForecasterConfig()), titles=titles, helps=helps, skip=("bidirectional",)
    )
    add_flags(parser, TuneSettings(), titles={"TuneSettings": "search"})
    add_run_flags(parser, checkpoints=False, log_dir=True)
    add_output_flags(parser, AUTO_OUT)
    parser.set_defaults(func=run_tune)


def run_tune(args: argparse.Namespace) -> int:
    """Check everything, search, fit the two finalists, write the folder, print the scores."""
    require_optuna()  # before reading anything
    settings = from_args(TuneSettings(), args)
    spec, test = data_spec(args), args.test_size
    # the options given are fixed (a switch not given reads False: not an option given)
    fixed = {k: v for k, v in given(ForecasterConfig(), args).items() if v is not False}
    space = Space.build(fixed, covariates=bool(spec.covariates))
    base = ForecasterConfig.from_options(space.fixed)
    base.device = args.device
    if args.threads:
        torch.set_num_threads(args.threads)
    base.check()
    data = training_data(spec, base, test)  # bad data fails before a folder is made
    base = override(data.config, {"horizon": space.fixed.get("horizon")})  # season filled in
    found = search_data(data, settings, test, space, base)
    out = Path(args.out)
    if args.out == AUTO_OUT:
        out = unique_run_dir(f"runs/{spec.name}-tune")
    prepare_run_dir(out, overwrite=args.overwrite)
    metric = settings.metric
    outcome = run_search(
        space,
        base,
        found,
        settings,
        log_dir=args.log_dir,
        after_trial=lambda trials: write_trials(trials, out / "trials.csv", metric),
    )
    write_trials(outcome.trials, out / "trials.csv", metric, outcome.confirmed)
    title = f"{spec.name}: tune"
    plot_trials(outcome.trials, out / "trials.png", metric=metric, title=title, chosen=outcome.best)
    if test:
        outcome.test = final_fits(outcome, base, data, test, found.season, args.log_dir)
    result = summary(spec, settings, test, space.fixed, outcome)
    write_summary(out / "summary.json", result)
    search = result["search"]
    comments = [
        f"rnnkit tune: trial {search['best_trial']} of {search['trials']}, validation "
        f"{metric} {search['best_value']:.4g} (defaults: {_number(search['defaults_value'])})"
        + confirmation(outcome.confirmed, outcome.best.number),
        f"train it: rnnkit train --config {out / 'best.toml'}",
    ]
    write_best(out / "best.toml", best_toml(spec, test, outcome.options, comments))
    print(
        f"{search['trials']} trials in {search['seconds']:.0f} s: {search['complete']} "
        f"complete, {search['pruned']} pruned, {search['failed']} failed"
    )
    print(comments[0].removeprefix("rnnkit tune: "))
    print("options: " + ", ".join(f"{k}={v}" for k, v in outcome.options.items()))
    for name, scores in (outcome.test or {}).items():
        print(f"\ntest, {name}:\n{format_report(scores)}")
    if outcome.test:
        print("\n" + verdict(outcome.test, metric))
    print(f"\nwrote {out}/ (trials.csv, trials.png, best.toml, summary.json)")
    print(comments[1])
    return 0


def verdict(test: dict, metric: str) -> str:
    """The test part's word on the search: the best configuration against the defaults."""
    best, defaults = (test[name]["model"][metric] for name in ("best", "defaults"))
    if best is None or defaults is None:
        return f"test {metric}: undefined"
    line = f"test {metric}: best configuration {best:.4g}, defaults {defaults:.4g}"
    if best > defaults:
        line += ": the validation winner loses on the test part"
    return line


def confirmation(confirmed: list, best: int) -> str:
    """How the confirmation chose, for best.toml's first line."""
    means = {c.trial: c.mean for c in confirmed if c.complete}
    if best not in means:
        return ""
    defaults = f", defaults {means[0]:.4g}" if 0 in means and best != 0 else ""
    return f"; mean over 3 seeds {means[best]:.4g}{defaults}"


def _number(value: float | None) -> str:
    return "failed" if value is None else f"{value:.4g}"
