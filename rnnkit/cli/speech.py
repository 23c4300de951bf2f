"""`rnnkit speech train` and `rnnkit speech transcribe`: spoken-digit recognition (CTC)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from dataclasses import asdict, replace
from pathlib import Path

import torch

from rnnkit.cli.common import (
    add_backend_flag,
    add_output_flags,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
)
from rnnkit.errors import UserError
from rnnkit.models import CELLS, resolve_backend
from rnnkit.plots import plot_learning_curves
from rnnkit.runs import environment, prepare_run_dir, write_json
from rnnkit.speech.data import TASKS, DigitSpeech, build_datasets
from rnnkit.speech.decode import as_text
from rnnkit.speech.features import NORMALISATIONS, read_wav
from rnnkit.speech.model import AcousticConfig
from rnnkit.speech.plots import plot_ctc_posteriors
from rnnkit.speech.recognizer import DigitRecognizer, RecognizerConfig, streaming_config
from rnnkit.speech.stream import measure_streaming, transcribe_stream

# per task: (epochs, patience) defaults: the whole cosine schedule, the best validation epoch kept
# (connected utterances are ~7x longer than one digit, so fewer epochs fit the same time)
TASK_DEFAULTS = {"isolated": (40, 0), "connected": (8, 0)}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "speech",
        help="spoken-digit recognition: train on FSDD, transcribe WAV files",
        description="Recognise spoken digits with a recurrent CTC model: 'train' learns from a "
        "Free Spoken Digit Dataset folder, 'transcribe' prints the digits in a WAV file.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _register_train(actions)
    _register_transcribe(actions)


def _register_train(actions: argparse._SubParsersAction) -> None:
    model = AcousticConfig()
    parser = actions.add_parser(
        "train",
        help="train on an FSDD 'recordings' folder",
        description="Train a CTC acoustic model on isolated digits (one recording, one label) or "
        "connected digits (3-7 recordings joined with short gaps), test it, and write "
        "metrics.json, the model, config.json and figures to --out.",
    )
    parser.add_argument("--data", required=True, help="folder of {digit}_{speaker}_{index}.wav")
    parser.add_argument("--task", choices=TASKS, default="isolated", help="(default: isolated)")
    parser.add_argument(
        "--split",
        default="official",
        help="'official' (repetitions 0-4 test) or 'speaker:NAME' (NAME held out entirely) "
        "(default: %(default)s)",
    )
    group = parser.add_argument_group("model")
    group.add_argument(
        "--cell", default=model.cell, help=f"{', '.join(CELLS)} (default: %(default)s)"
    )
    add_backend_flag(group)
    group.add_argument("--hidden-size", type=positive_int, default=model.hidden_size)
    group.add_argument("--layers", type=positive_int, default=model.num_layers)
    group.add_argument(
        "--subsample",
        type=positive_int,
        default=None,
        help="frames stacked per recurrent step (default: 2 isolated, 3 connected)",
    )
    group.add_argument(
        "--stream",
        action="store_true",
        help="a unidirectional model with frame-by-frame normalisation that transcribes while "
        "audio arrives (metrics.json also gets its real-time factor)",
    )
    group.add_argument(
        "--normalisation",
        choices=NORMALISATIONS,
        default="utterance",
        help="feature normalisation: per utterance, or the training set's per-band statistics "
        "('global'; always so with --stream) (default: %(default)s)",
    )
    group.add_argument(
        "--no-augment",
        action="store_true",
        help="no augmentation (SpecAugment masks; speed and gain changes of the training audio)",
    )
    group.add_argument(
        "--dropout",
        type=fraction,
        default=model.dropout,
        help="dropout between layers and before the head (default: %(default)s)",
    )
    group = parser.add_argument_group("training")
    group.add_argument(
        "--epochs", type=positive_int, default=None, help="(default: 40 isolated, 8 connected)"
    )
    group.add_argument(
        "--patience",
        type=non_negative_int,
        default=None,
        help="early stopping after this many epochs without improvement; 0: never (default: 0)",
    )
    group.add_argument("--batch-size", type=positive_int, default=32)
    group.add_argument("--lr", type=positive_float, default=3e-3)
    group.add_argument(
        "--weight-decay", type=float, default=0.0, help="AdamW weight decay (default: 0)"
    )
    group.add_argument("--seed", type=int, default=0)
    group.add_argument(
        "--train-utterances",
        type=positive_int,
        default=1500,
        help="connected task: training utterances drawn (default: %(default)s)",
    )
    group.add_argument(
        "--test-utterances",
        type=positive_int,
        default=500,
        help="connected task: validation and test utterances each (default: %(default)s)",
    )
    group.add_argument(
        "--beam",
        type=non_negative_int,
        default=0,
        help="also test beam decoding at this width (default: 0, greedy only)",
    )
    group.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch")
    group.add_argument("--no-progress", action="store_true", help="log lines, no progress bar")
    add_output_flags(parser, "runs/speech")
    parser.set_defaults(func=run_train)


def _register_transcribe(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "transcribe",
        help="print the digits spoken in a WAV file",
        description="Print the digits in FILE (mono WAV at the model's rate), space-separated.",
    )
    parser.add_argument("run", metavar="RUN", help="a run folder written by 'rnnkit speech train'")
    parser.add_argument("file", metavar="FILE", help="a WAV file")
    parser.add_argument(
        "--stream",
        action="store_true",
        help="feed the audio in --chunk-ms pieces to the streaming model",
    )
    parser.add_argument("--chunk-ms", type=positive_float, default=100.0)
    parser.add_argument("--beam", type=positive_int, default=1, help="beam width (1: greedy)")
    parser.set_defaults(func=run_transcribe)


def recognizer_from(args: argparse.Namespace) -> DigitRecognizer:
    resolve_backend(args.cell, args.backend)  # an unknown cell fails before any reading
    epochs, patience = TASK_DEFAULTS[args.task]
    base = RecognizerConfig()
    subsample = args.subsample or (2 if args.task == "isolated" else 3)
    model = replace(
        base.model,
        cell=args.cell,
        backend=args.backend,
        hidden_size=args.hidden_size,
        num_layers=args.layers,
        subsample=subsample,
        dropout=args.dropout,
    )
    train = replace(
        base.train,
        epochs=args.epochs or epochs,
        patience=patience if args.patience is None else args.patience,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        seed=args.seed,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    augment = not args.no_augment
    config = RecognizerConfig(
        replace(base.features, normalisation=args.normalisation),
        model,
        base.augment if augment else None,
        train,
        base.perturb if augment else None,
    )
    return DigitRecognizer(streaming_config(config) if args.stream else config)


def run_train(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    recognizer = recognizer_from(args)
    config = recognizer.config
    train, val, test = build_datasets(
        args.data,
        args.task,
        args.split,
        recognizer.features,
        config.features.sample_rate,
        seed=args.seed,
        train_utterances=args.train_utterances,
        eval_utterances=args.test_utterances,
        perturbation=config.perturb,
    )
    out = prepare_run_dir(args.out, overwrite=args.overwrite)
    run_config = {
        "data": str(args.data),
        "task": args.task,
        "split": args.split,
        "stream": args.stream,
        "recognizer": asdict(config),
        "train_utterances": args.train_utterances if args.task == "connected" else None,
        "test_utterances": args.test_utterances if args.task == "connected" else None,
        "versions": environment(),
    }
    write_json(out / "config.json", run_config)
    print(
        f"{args.task} digits, split {args.split}: {len(train)} training, {len(val)} validation, "
        f"{len(test)} test utterances; {recognizer.parameters()} parameters",
        file=sys.stderr,
    )
    history = recognizer.fit(train, val)
    recognizer.save(out)
    write_json(out / "history.json", history.to_dict())
    plot_learning_curves({f"{args.cell} (CTC)": history}, out / "learning_curves.png")
    tested = recognizer.evaluate(test)
    metrics = {
        "task": args.task,
        "split": args.split,
        "cell": args.cell,
        "bidirectional": config.model.bidirectional,
        "parameters": recognizer.parameters(),
        "test": {"model": tested},
        "validation": {"model": recognizer.evaluate(val)},
        "train_seconds": recognizer.train_seconds,
        "epochs": len(history.records),
        "best_epoch": history.best_epoch,
        "machine": {
            "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "processor": platform.processor() or platform.machine(),
        },
    }
    if args.beam:
        metrics["test"]["model_beam"] = {
            "beam_width": args.beam,
            **recognizer.evaluate(test, beam_width=args.beam),
        }
    if args.stream:
        metrics["streaming"] = _measure_streaming(recognizer, test)
    write_json(out / "metrics.json", metrics)
    _figure(recognizer, test, out)
    _report(metrics)
    print(f"wrote {out}/metrics.json, model.safetensors, ctc_posteriors.png", file=sys.stderr)
    return 0


def _measure_streaming(recognizer: DigitRecognizer, test: DigitSpeech) -> dict:
    """Stream the test set on one thread, 100 ms at a time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        utterances = [test.samples(i) for i in range(len(test))]
        references = [test.labels(i) for i in range(len(test))]
        return measure_streaming(recognizer, utterances, references, chunk_seconds=0.1)
    finally:
        torch.set_num_threads(threads)


def _figure(recognizer: DigitRecognizer, test: DigitSpeech, out: Path) -> None:
    features, labels = test[0]
    (log_probs,) = recognizer.posteriors([features])
    c = recognizer.config
    plot_ctc_posteriors(
        features,
        log_probs,
        c.features.hop_length / c.features.sample_rate,
        c.model.subsample,
        out / "ctc_posteriors.png",
        title=f"test utterance 0, reference: {as_text(labels.tolist())}",
    )


def _report(metrics: dict) -> None:
    test = metrics["test"]["model"]
    parts = [f"test digit error rate {100 * test['error_rate']:.2f}%"]
    if "accuracy" in test:
        parts.insert(0, f"test accuracy {100 * test['accuracy']:.2f}%")
    if "streaming" in metrics:
        s = metrics["streaming"]
        parts.append(
            f"streaming RTF {s['rtf']:.4f} (one thread), error rate {100 * s['error_rate']:.2f}%"
        )
    parts.append(f"trained in {metrics['train_seconds']:.0f} s")
    print("; ".join(parts))


def run_transcribe(args: argparse.Namespace) -> int:
    recognizer = DigitRecognizer.load(args.run)
    samples = read_wav(args.file, recognizer.config.features.sample_rate)
    if args.stream:
        if args.beam != 1:
            raise UserError("--stream decodes greedily as the audio arrives; drop --beam")
        chunk = max(1, int(args.chunk_ms / 1000 * recognizer.config.features.sample_rate))
        digits = transcribe_stream(recognizer, samples, chunk)
    else:
        digits = recognizer.transcribe(samples, beam_width=args.beam)
    print(as_text(digits))
    return 0
