"""`rnnkit speech train` and `rnnkit speech transcribe`: spoken-digit recognition (CTC)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

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
from rnnkit.config import add_flags, override
from rnnkit.errors import UserError
from rnnkit.models import resolve_backend
from rnnkit.plots import plot_learning_curves
from rnnkit.runs import write_json
from rnnkit.speech.data import DigitSpeech, build_datasets
from rnnkit.speech.decode import as_text
from rnnkit.speech.features import read_wav
from rnnkit.speech.plots import plot_ctc_posteriors
from rnnkit.speech.recognizer import (
    TASK_DEFAULTS,
    DigitRecognizer,
    RecognizerConfig,
    TranscribeConfig,
    for_task,
)
from rnnkit.speech.stream import measure_streaming, transcribe_stream

# options whose default depends on --task (see TASK_DEFAULTS): None until the task is known
BY_TASK = {
    name: f"(default: {', '.join(f'{d[name]} {task}' for task, d in TASK_DEFAULTS.items())})"
    for name in TASK_DEFAULTS["isolated"]
}


def register(subparsers: argparse._SubParsersAction) -> None:
    add_group(
        subparsers,
        "speech",
        help="spoken-digit recognition: train on FSDD, transcribe WAV files",
        description="Recognise spoken digits with a recurrent CTC model: 'train' learns from a "
        "Free Spoken Digit Dataset folder, 'transcribe' prints the digits in a WAV file.",
        actions=[_register_train, _register_transcribe],
    )


def _register_train(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "train",
        help="train on an FSDD 'recordings' folder",
        description="Train a CTC acoustic model on isolated digits (one recording, one label) or "
        "connected digits (3-7 recordings joined with short gaps), test it, and write "
        "metrics.json, the model, config.json and figures to --out.",
    )
    parser.add_argument("--data", required=True, help="folder of {digit}_{speaker}_{index}.wav")
    unset = override(RecognizerConfig(), {name: None for name in BY_TASK})
    helps = {
        "subsample": f"frames stacked into one recurrent step {BY_TASK['subsample']}",
        "epochs": f"maximum epochs {BY_TASK['epochs']}",
        "average_epochs": "use the mean of the weights after each of the last N epochs (0: the "
        f"weights of the epoch with the best validation loss) {BY_TASK['average_epochs']}",
        "patience": "early stopping: epochs without validation improvement, 0 disables "
        "(default: 0, the whole cosine schedule)",
        "dropout": "dropout between recurrent layers and before the head",
    }
    add_estimator_flags(parser, unset, title="speech", helps=helps, log_dir=True)
    add_output_flags(parser, "runs/speech")
    add_resume_flag(parser, help=RESUME_HELP)
    parser.set_defaults(func=run_train)


def _register_transcribe(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "transcribe",
        help="print the digits spoken in a WAV file",
        description="Print the digits in FILE (mono WAV at the model's rate), space-separated.",
    )
    parser.add_argument("run", metavar="RUN", help="a run folder written by 'rnnkit speech train'")
    parser.add_argument("file", metavar="FILE", help="a WAV file")
    add_flags(parser, TranscribeConfig(), titles={"TranscribeConfig": "decoding"})
    add_device_flag(parser)
    parser.set_defaults(func=run_transcribe)


def recognizer_from(args: argparse.Namespace) -> DigitRecognizer:
    """A DigitRecognizer from the train flags (checked before anything is read or written)."""
    config = for_task(config_from_args(args, RecognizerConfig()))
    resolve_backend(config.model.cell, config.model.backend)  # an unknown cell fails first
    return DigitRecognizer(config, device=args.device)


def run_train(args: argparse.Namespace) -> int:
    recognizer = recognizer_from(args)
    config = recognizer.config
    train, val, test = build_datasets(
        args.data,
        config.task,
        config.split,
        recognizer.features,
        config.features.sample_rate,
        seed=config.train.seed,
        train_utterances=config.train_utterances,
        eval_utterances=config.test_utterances,
        perturbation=config.perturb,
    )
    recognizer_config = {k: v for k, v in asdict(config).items() if k != "train"}
    run_config = {"data": str(args.data), "recognizer": recognizer_config}
    out = open_run(args, {**run_config, "train": asdict(config.train)}, same=list(run_config))
    print(
        f"{config.task} digits, split {config.split}: {len(train)} training, {len(val)} "
        f"validation, {len(test)} test utterances; {recognizer.parameters()} parameters",
        file=sys.stderr,
    )
    history = recognizer.fit(train, val, **checkpointing(out, args, "rnnkit speech train"))
    recognizer.save(out)
    write_json(out / "history.json", history.to_dict())
    cell = config.model.cell
    plot_learning_curves({f"{cell} (CTC)": history}, out / "learning_curves.png")
    tested = recognizer.evaluate(test)
    metrics: dict[str, Any] = {
        "task": config.task,
        "split": config.split,
        "cell": cell,
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
    if recognizer.best_epoch_weights is not None:  # the model is a weight average: compare
        averaged = {k: v.clone() for k, v in recognizer.model.state_dict().items()}
        recognizer.model.load_state_dict(recognizer.best_epoch_weights)
        metrics["test"]["best_epoch_weights"] = recognizer.evaluate(test)
        metrics["validation"]["best_epoch_weights"] = recognizer.evaluate(val)
        recognizer.model.load_state_dict(averaged)
    if config.beam:
        metrics["test"]["model_beam"] = {
            "beam_width": config.beam,
            **recognizer.evaluate(test, beam_width=config.beam),
        }
    if config.stream:
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
    recognizer = DigitRecognizer.load(args.run, device=args.device)
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
