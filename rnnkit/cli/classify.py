"""`rnnkit classify train` and `rnnkit classify predict`: sequence classification."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rnnkit.classify.classifier import ClassifierConfig, SequenceClassifier
from rnnkit.classify.data import FORMATS, SequenceSet, TableSpec, extract, read_table
from rnnkit.classify.evaluation import holdout_metrics, holdout_split
from rnnkit.cli.common import (
    RESUME_HELP,
    add_device_flag,
    add_estimator_flags,
    add_group,
    add_output_flags,
    add_resume_flag,
    checkpointing,
    config_from_args,
    open_run,
)
from rnnkit.config import add_flags, from_args
from rnnkit.errors import UserError, unknown
from rnnkit.models import resolve_backend
from rnnkit.plots import plot_confusion_matrix, plot_learning_curves
from rnnkit.runs import write_json


def count_or_fraction(text: str) -> int | float:
    """'40' -> 40 sequences, '0.2' -> a fifth of them."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value.is_integer() and value >= 1 and "." not in text:
        return int(value)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a count (1, 2, ...) or a fraction in (0, 1), got '{text}'"
        )
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    add_group(
        subparsers,
        "classify",
        help="sequence classification: train on labelled sequences, predict labels",
        description="Classify whole sequences of varying length with a recurrent model: "
        "'train' learns from a labelled table, 'predict' labels new sequences.",
        actions=[_register_train, _register_predict],
    )


def _register_train(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "train",
        help="train on a labelled table (CSV/Parquet) or the bundled 'shapes'",
        description="Train on a stratified random part of the sequences, stop early on a "
        "validation part of it, and test on the rest beside the majority-class and "
        "1-nearest-neighbour baselines; writes the model, metrics.json, confusion_matrix.png "
        "and learning_curves.png.",
    )
    data = parser.add_argument_group("data")
    data.add_argument("--data", required=True, help="a CSV or Parquet file, or 'shapes'")
    data.add_argument(
        "--test-size",
        type=count_or_fraction,
        default=0.2,
        help="sequences held out for the test: a count or a fraction (default: %(default)s)",
    )
    add_flags(parser, TableSpec(), titles={"TableSpec": "table layout"})
    add_estimator_flags(parser, ClassifierConfig(), title="classifier", log_dir=True)
    add_output_flags(parser, "runs/classify")
    add_resume_flag(parser, help=RESUME_HELP)
    parser.set_defaults(func=run_train)


def _register_predict(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "predict",
        help="label the sequences of a table with a trained run",
        description="Write one row per sequence: its id (or row number), the predicted label "
        "and the probability of each class (p_<class>).",
    )
    parser.add_argument(
        "run", metavar="RUN", help="a run folder written by 'rnnkit classify train'"
    )
    parser.add_argument(
        "--data", required=True, help="a CSV or Parquet file laid out as in training"
    )
    parser.add_argument("--out", help="CSV file to write (default: print to stdout)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    add_device_flag(parser)
    parser.set_defaults(func=run_predict)


def run_train(args: argparse.Namespace) -> int:
    if args.format not in FORMATS:
        raise unknown("format", args.format, FORMATS)
    options = config_from_args(args, ClassifierConfig())
    resolve_backend(options.model.cell, options.model.backend)  # fails before reading the data
    clf = SequenceClassifier(config=options, device=args.device)
    spec = from_args(TableSpec(), args)
    data = extract(read_table(args.data), spec)
    if len(set(data.labels.tolist())) < 2:
        raise UserError(f"the '{spec.label}' column has only one class; need at least two")
    config = {
        "data": args.data,
        "table": asdict(spec),
        "test_size": args.test_size,
        "model": asdict(clf.config.model),
        "val_fraction": clf.config.val_fraction,
    }
    out = open_run(args, {**config, "train": asdict(clf.config.train)}, same=list(config))
    saving = checkpointing(out, args, "rnnkit classify train")
    train, test = holdout_split(data, args.test_size, clf.config.train.seed)
    start = time.perf_counter()
    clf.fit_sequences(train, spec, **saving)  # five calls from here to the optimiser step
    metrics = holdout_metrics(clf, train, test, time.perf_counter() - start)
    write_outputs(out, clf, metrics, test)
    print(format_results(metrics))
    print(f"\nwrote {out}/metrics.json, model.safetensors, confusion_matrix.png")
    return 0


def write_outputs(
    out: Path, clf: SequenceClassifier, metrics: dict[str, Any], test: SequenceSet
) -> None:
    """The model, metrics, history, test predictions and figures of a trained run."""
    clf.save(out)
    write_json(out / "metrics.json", metrics)
    write_json(out / "history.json", clf.history.to_dict())
    table = clf.prediction_table(test, clf.proba_sequences(test))
    table.insert(1, "true_label", test.labels)
    table.to_csv(out / "test_predictions.csv", index=False)
    cell = clf.config.model.cell
    plot_learning_curves({cell: clf.history}, out / "learning_curves.png")
    plot_confusion_matrix(
        metrics["confusion_matrix"],
        metrics["classes"],
        out / "confusion_matrix.png",
        title=f"{cell}: test accuracy {metrics['accuracy']:.1%}",
    )


def format_results(metrics: dict[str, Any]) -> str:
    """The test results table printed by ``rnnkit classify train``."""
    rows = [
        ("model", metrics["accuracy"], metrics["macro_f1"]),
        ("majority class", metrics["majority_accuracy"], metrics["majority_macro_f1"]),
        ("1-nearest neighbour", metrics["nn1_accuracy"], metrics["nn1_macro_f1"]),
    ]
    header = f"{'':<22}{'accuracy':>10}{'macro F1':>10}"
    lines = [header, "-" * len(header)]
    lines += [f"{name:<22}{acc:>10.3f}{f1:>10.3f}" for name, acc, f1 in rows]
    return f"test set: {metrics['n_test']} sequences\n" + "\n".join(lines)


def run_predict(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.overwrite:
        raise UserError(f"'{out}' exists; pass --overwrite or pick another --out")
    clf = SequenceClassifier.load(args.run, device=args.device)
    table = clf.predict(read_table(args.data))
    if out is None:
        print(table.to_csv(index=False), end="")
        return 0
    try:
        table.to_csv(out, index=False)
    except OSError as err:
        raise UserError(f"cannot write '{out}': {err.strerror}") from None
    print(f"wrote {len(table)} predictions to {out}")
    return 0
