"""`rnnkit translate train` and `rnnkit translate predict`: attentional sequence-to-sequence."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from rnnkit.cli.common import (
    RESUME_HELP,
    add_estimator_flags,
    add_group,
    add_output_flags,
    add_resume_flag,
    checkpointing,
    config_from_args,
    open_run,
)
from rnnkit.config import positive_int
from rnnkit.errors import UserError
from rnnkit.models import resolve_device
from rnnkit.plots import plot_learning_curves
from rnnkit.runs import write_json
from rnnkit.translate.data import Pair, group_references, load_pairs, split_by_source
from rnnkit.translate.translator import Translator, TranslatorConfig

HEATMAP_SAMPLES = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    add_group(
        subparsers,
        "translate",
        help="machine translation: train an attentional encoder-decoder on sentence pairs",
        description="Sentence-level machine translation with a bidirectional recurrent encoder, "
        "an attentional decoder and beam search: 'train' learns from a pairs file, 'predict' "
        "translates with a trained run.",
        actions=[_register_train, _register_predict],
    )


def _register_train(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "train",
        help="train on a tab-separated pairs file (or a zip holding one)",
        description="Train on 'source<TAB>target' pairs (e.g. Tatoeba's fra-eng.zip from "
        "manythings.org/anki), holding out validation and test *source sentences*; write the "
        "model, vocabularies, metrics.json (BLEU and chrF of the model and of a retrieval "
        "baseline on the test sentences), learning_curves.png and attention.png.",
    )
    parser.add_argument("--data", required=True, help="pairs file (UTF-8, src<TAB>tgt) or zip")
    add_estimator_flags(parser, TranslatorConfig(), title="translation", log_dir=True)
    add_output_flags(parser, "runs/translate")
    add_resume_flag(parser, help=RESUME_HELP)
    parser.set_defaults(func=run_train)


def _register_predict(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "predict",
        help="translate text with a trained run",
        description="Print the translation of TEXT, or of every line of --file (one output line "
        "per input line). Unknown words are read as <unk>, and said so on stderr.",
    )
    parser.add_argument("run", metavar="RUN", help="a run folder written by 'translate train'")
    parser.add_argument("text", nargs="?", default=None, help="a sentence to translate")
    parser.add_argument(
        "--file", default=None, help="translate each line of this file ('-': stdin)"
    )
    parser.add_argument("--beam", type=positive_int, default=None, help="(default: the run's)")
    parser.set_defaults(func=run_predict)


def build_translator(args: argparse.Namespace) -> Translator:
    """A Translator from the train flags (checked before anything is read or written)."""
    config = config_from_args(args, TranslatorConfig())
    config.train.log_every = 1
    return Translator(config)  # checks cell, backend, attention, schedule


def run_train(args: argparse.Namespace) -> int:
    translator = build_translator(args)
    config = translator.config
    device = resolve_device(args.device)
    pairs = load_pairs(args.data, config.max_words)
    split = split_by_source(pairs, config.val_fraction, config.test_fraction, config.train.seed)
    if not split.test:
        raise UserError("--test-fraction 0 leaves nothing to score; give a positive fraction")
    counts = {
        part: {"pairs": len(items), "sources": len({p.src for p in items})}
        for part, items in (("train", split.train), ("val", split.val), ("test", split.test))
    }
    record = {"data": str(args.data), "split": counts, **asdict(config)}
    # a resumed run must read the same data the same way; fit checks the training settings
    same = [k for k in record if k not in ("train", "beam", "length_alpha", "eval_limit")]
    out = open_run(args, record, same=same)
    print(
        f"{len(pairs)} pairs: {counts['train']['pairs']} train, {counts['val']['pairs']} "
        f"validation, {counts['test']['pairs']} test ({counts['test']['sources']} test sources)",
        file=sys.stderr,
    )
    hooks = checkpointing(out, args, "rnnkit translate train")
    translator.fit(split.train, split.val or None, device=device, **hooks)
    translator.save(out)
    test = limit_sources(split.test, config.eval_limit)
    metrics = evaluate_run(translator, split.train, test)
    metrics["train_seconds"] = round(translator.train_seconds, 1)
    metrics["train_cpu_seconds"] = round(translator.train_cpu_seconds, 1)  # < wall: a shared CPU
    metrics["epochs"] = len(translator.history.records) if translator.history else 0
    metrics["out_of_time"] = bool(translator.history and translator.history.out_of_time)
    metrics["parameters"] = translator.parameters
    metrics["split"] = counts
    metrics["scored"] = {"pairs": len(test), "sources": len({p.src for p in test})}
    metrics["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    write_json(out / "metrics.json", metrics)
    if translator.history:
        write_json(out / "history.json", translator.history.to_dict())
        plot_learning_curves(
            {f"{config.model.cell}": translator.history}, out / "learning_curves.png"
        )
    drew = write_heatmap(translator, test, out / "attention.png")
    m, r = metrics["test"]["model"], metrics["test"]["retrieval"]
    print(
        f"test BLEU {m['bleu']:.1f} chrF {m['chrf']:.1f} (retrieval baseline BLEU "
        f"{r['bleu']:.1f} chrF {r['chrf']:.1f}); trained {metrics['train_seconds']:.0f} s"
    )
    figures = ", learning_curves.png" + (", attention.png" if drew else "")
    print(f"wrote {out}/metrics.json, model.safetensors, vocab_*.json{figures}")
    return 0


def limit_sources(pairs: list[Pair], limit: int) -> list[Pair]:
    """The pairs of the first ``limit`` distinct sources (all when 0)."""
    if not limit:
        return pairs
    kept = set(list(group_references(pairs))[:limit])
    return [p for p in pairs if p.src in kept]


def evaluate_run(translator: Translator, train: list[Pair], test: list[Pair]) -> dict:
    """Scores of the model (its beam, and greedy) and of the retrieval baseline on ``test``."""
    from rnnkit.translate.evaluate import RetrievalBaseline, score_translations

    sources = list(group_references(test))
    started = time.perf_counter()
    beam = {s: t.tokens for s, t in zip(sources, translator.translate_tokens(sources), strict=True)}
    beam_seconds = time.perf_counter() - started
    greedy_out = translator.translate_tokens(sources, beam=1)
    greedy = {s: t.tokens for s, t in zip(sources, greedy_out, strict=True)}
    started = time.perf_counter()
    baseline = RetrievalBaseline(train)
    retrieved = dict(zip(sources, baseline.translate(sources), strict=True))
    retrieval_seconds = time.perf_counter() - started
    return {
        "test": {
            "model": {**score_translations(test, beam), "beam": translator.config.beam},
            "model_greedy": score_translations(test, greedy),
            "retrieval": score_translations(test, retrieved),
        },
        "translate_seconds": round(beam_seconds, 1),
        "retrieval_seconds": round(retrieval_seconds, 1),
    }


def write_heatmap(translator: Translator, test: list[Pair], path: Path) -> bool:
    """Attention heatmaps of a few test sentences; False when the model has no attention."""
    from rnnkit.translate.figures import plot_attention

    sources = list(group_references(test))
    # a few of the longer test sentences show the alignment best
    picked = sorted(sources, key=lambda s: (-len(s), s))[: HEATMAP_SAMPLES * 10 : 10]
    translations = translator.translate_tokens(picked)
    if not any(t.attention is not None for t in translations):  # the Transformer baseline
        return False
    plot_attention(translations, path)
    return True


def run_predict(args: argparse.Namespace) -> int:
    if (args.text is None) == (args.file is None):
        raise UserError("give either a TEXT to translate or --file, not both or neither")
    lines = read_lines(args.file) if args.file is not None else [args.text]
    translator = Translator.load(args.run)
    results = translator.translate(lines, beam=args.beam)
    for number, result in enumerate(results, start=1):
        if result.unknown:
            where = f"line {number}: " if args.file is not None else ""
            print(
                f"rnnkit: note: {where}unknown words read as <unk>: {', '.join(result.unknown)}",
                file=sys.stderr,
            )
    from rnnkit.translate.data import detokenize

    for result in results:
        print(detokenize(result.tokens))
    return 0


def read_lines(name: str) -> list[str]:
    if name == "-":
        return sys.stdin.read().splitlines()
    path = Path(name)
    if not path.is_file():
        raise UserError(f"input file '{path}' does not exist")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise UserError(f"'{path}' is not UTF-8 text (byte {err.start})") from None
