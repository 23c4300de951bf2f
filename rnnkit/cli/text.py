"""`rnnkit lm train` and `rnnkit lm sample`: the character-level language model."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from rnnkit.cli.common import (
    add_model_flags,
    add_output_flags,
    add_train_flags,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
    train_config,
)
from rnnkit.data.io import read_text
from rnnkit.errors import UserError
from rnnkit.models import resolve_backend
from rnnkit.plots import plot_learning_curves
from rnnkit.runs import environment, prepare_run_dir, read_json, write_json
from rnnkit.text.charlm import CharLM, CharLMConfig
from rnnkit.text.data import check_trainable, split_text

SAMPLE_LENGTH = 1000  # characters written to RUN/sample.txt
SAMPLE_TEMPERATURE = 0.8  # a little below 1: fewer misspellings, still varied


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lm",
        help="character-level language model: train on a text, sample from it",
        description="A character-level recurrent language model (char-rnn): 'train' learns a "
        "text, 'sample' generates from a trained run.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _register_train(actions)
    _register_sample(actions)


def _register_train(actions: argparse._SubParsersAction) -> None:
    defaults = CharLMConfig()
    parser = actions.add_parser(
        "train",
        help="train on a text file or the bundled 'botchan'",
        description="Train a character-level model with truncated back-propagation through time "
        "(the text cut into --batch-size parallel streams, the hidden state carried from batch to "
        "batch), validate on the last part of the text, and write the model, metrics.json (bits "
        "per character beside unigram and bigram baselines), learning_curves.png and a sample.",
    )
    parser.add_argument(
        "--data", required=True, help="a UTF-8 text file, or a bundled text dataset (botchan)"
    )
    add_model_flags(parser, defaults.model)
    group = parser.add_argument_group("text")
    group.add_argument(
        "--embed-size",
        type=positive_int,
        default=defaults.model.input_size,
        help="width of the character embedding (default: %(default)s)",
    )
    group.add_argument(
        "--seq-len",
        type=positive_int,
        default=defaults.seq_len,
        help="characters per truncated-BPTT chunk (default: %(default)s)",
    )
    group.add_argument(
        "--val-fraction",
        type=fraction,
        default=defaults.val_fraction,
        help="the last part of the text that validates (default: %(default)s)",
    )
    group.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help=f"optimiser steps, in equal passes of at most one sweep of the text (default: "
        f"{defaults.steps}); or give --epochs",
    )
    add_train_flags(parser, defaults.train)
    parser.set_defaults(epochs=None)
    for action in parser._actions:  # --epochs has no default of its own: --steps is used
        if action.dest == "epochs":
            action.help = "passes over the training text, instead of --steps"
    add_output_flags(parser, "runs/lm")
    add_resume_flag(parser)
    parser.set_defaults(func=run_train)


def add_resume_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in --out from its checkpoint (same data and flags)",
    )


def open_run(args: argparse.Namespace, config: dict[str, Any], same: list[str]) -> Path:
    """The run folder: a new one (config.json written), or with --resume the interrupted one.

    Resuming checks that the ``same`` parts of ``config`` match the saved config.json; the fit
    loop checks the training settings against its checkpoint.
    """
    out = Path(args.out)
    if not args.resume:
        prepare_run_dir(out, overwrite=args.overwrite)
        write_json(out / "config.json", {**config, "versions": environment()})
        return out
    saved = read_json(out / "config.json")
    fresh = json.loads(json.dumps(config))
    for key in same:
        if saved.get(key) != fresh.get(key):
            raise UserError(
                f"--resume: the {key} settings differ from '{out / 'config.json'}'; give the "
                "data and flags the run started with"
            )
    return out


def checkpointing(args: argparse.Namespace, out: Path, command: str) -> dict[str, Any]:
    """The checkpoint options of ``fit`` for a command run into ``out``."""
    hint = f"the same '{command}' command with --resume"
    return {
        "run_dir": out,
        "resume": args.resume,
        "checkpoint_every": args.checkpoint_every or 0,
        "resume_hint": hint,
    }


def _register_sample(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "sample",
        help="generate text from a trained run",
        description="Print text generated by the model in RUN, character by character.",
    )
    parser.add_argument("run", metavar="RUN", help="a run folder written by 'rnnkit lm train'")
    parser.add_argument("--prompt", default="", help="text to start from (default: none)")
    parser.add_argument(
        "--length",
        type=non_negative_int,
        default=500,
        help="characters to generate (default: %(default)s)",
    )
    parser.add_argument(
        "--temperature",
        type=positive_float,
        default=1.0,
        help="below 1: safer, above 1: wilder (default: %(default)s)",
    )
    parser.add_argument(
        "--top-k",
        type=positive_int,
        default=None,
        help="draw only among the K most likely characters (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="fixes the draws (default: 0)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default: cpu)")
    parser.set_defaults(func=run_sample)


def build_lm(args: argparse.Namespace) -> CharLM:
    """A CharLM from the train flags (checked before anything is written)."""
    defaults = CharLMConfig()
    if args.steps is not None and args.epochs is not None:
        raise UserError("give --steps or --epochs, not both")
    resolve_backend(args.cell, args.backend)  # an unknown cell fails before reading the text
    steps = None if args.epochs is not None else (args.steps or defaults.steps)
    args.epochs = args.epochs or defaults.train.epochs
    if not 0 < args.val_fraction < 1:
        raise UserError(f"--val-fraction must be in (0, 1), got {args.val_fraction}")
    return CharLM(
        args.cell,
        backend=args.backend,
        hidden_size=args.hidden_size,
        num_layers=args.layers,
        embed_size=args.embed_size,
        dropout=args.dropout,
        seq_len=args.seq_len,
        val_fraction=args.val_fraction,
        steps=steps,
        train=replace(train_config(args, defaults.train), log_every=1),
        device=args.device,
    )


def run_train(args: argparse.Namespace) -> int:
    lm = build_lm(args)
    if args.bidirectional:
        raise UserError("a language model reads left to right; drop --bidirectional")
    text = read_text(args.data)
    train_text, val_text = split_text(text, lm.config.val_fraction)
    check_trainable(len(train_text), len(val_text), lm.config.train.batch_size, lm.config.seq_len)
    cfg = lm.config
    text_config = {"seq_len": cfg.seq_len, "val_fraction": cfg.val_fraction, "steps": cfg.steps}
    config = {"data": args.data, "model": asdict(cfg.model), "text": text_config}
    out = open_run(args, {**config, "train": asdict(cfg.train)}, same=list(config))
    lm.fit(text, **checkpointing(args, out, "rnnkit lm train"))
    lm.save(out)
    sample = lm.sample(length=SAMPLE_LENGTH, temperature=SAMPLE_TEMPERATURE, seed=args.seed)
    (out / "sample.txt").write_text(sample, encoding="utf-8")
    write_json(out / "history.json", lm.history.to_dict())
    write_json(out / "metrics.json", {"task": "char_lm", "cell": args.cell, **lm.metrics})
    plot_learning_curves({f"{args.cell} (bits/char)": lm.history}, out / "learning_curves.png")
    m = lm.metrics
    print(
        f"validation bits per character: {m['val_bpc']:.3f} (bigram baseline "
        f"{m['bigram_bpc']:.3f}, unigram {m['unigram_bpc']:.3f}); {m['steps']} steps in "
        f"{m['train_seconds']:.0f} s"
    )
    print(f"wrote {out}/metrics.json, model.safetensors, learning_curves.png, sample.txt")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    lm = CharLM.load(args.run, device=args.device)
    print(lm.sample(args.prompt, args.length, args.temperature, args.top_k, args.seed))
    return 0
