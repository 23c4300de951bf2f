"""Translation at one wall-clock budget: GRU, LSTM and vanilla-RNN encoder-decoders with attention
against a ``torch.nn.Transformer`` of about the same parameter count (a script, not a test).

Every model gets the same pairs, split, vocabularies, sizes, seed and *the same minutes of
training* (``TrainConfig.max_minutes``; one epoch at most, so the learning rate is constant:
the per-epoch cosine schedule does not move within it), then is scored with beam search on the
same test sentences, beside the retrieval baseline (computed once). Wall time, CPU time of the
process and the load average are recorded for each, because the machine may be shared.

    python benchmarks/bench_translate_cells.py --data ../shared/data/tatoeba/fra-eng.zip \\
        [--minutes 3] [--models gru,lstm,rnn,transformer] [--eval-limit 1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from rnnkit.cli.translate import limit_sources
from rnnkit.translate import Translator, TranslatorConfig
from rnnkit.translate.data import group_references, load_pairs, split_by_source
from rnnkit.translate.evaluate import RetrievalBaseline, score_translations

# the Transformer: 1 encoder + 1 decoder layer, d_model 256, 4 heads, feed-forward 1024 (about
# the GRU model's parameter count); lr 1e-3, as 3e-3 without warm-up is too much for it
SETTINGS: dict[str, dict[str, Any]] = {
    "gru": {"cell": "gru"},
    "lstm": {"cell": "lstm"},
    "rnn": {"cell": "rnn"},
    "transformer": {"arch": "transformer", "lr": 1e-3},
}


def config_for(name: str, minutes: float, seed: int) -> TranslatorConfig:
    base = TranslatorConfig(max_words=9, teacher_forcing=[1.0, 1.0])
    settings = dict(SETTINGS[name])
    lr = settings.pop("lr", base.train.lr)
    train = replace(base.train, epochs=1, max_minutes=minutes, lr=lr, seed=seed, progress=False)
    return replace(base, model=replace(base.model, **settings), train=train)


def run_one(name: str, split: Any, test: list, minutes: float, seed: int) -> dict[str, Any]:
    translator = Translator(config_for(name, minutes, seed))
    cpu_start = time.process_time()
    translator.fit(split.train, split.val)
    history = translator.history
    assert history is not None
    sources = list(group_references(test))
    started = time.perf_counter()
    beam = translator.translate_tokens(sources)
    out = {s: t.tokens for s, t in zip(sources, beam, strict=True)}
    greedy = translator.translate_tokens(sources, beam=1)
    return {
        "model": name,
        "parameters": translator.parameters,
        "test": score_translations(test, out),
        "test_greedy": score_translations(
            test, {s: t.tokens for s, t in zip(sources, greedy, strict=True)}
        ),
        "val_loss": history.records[-1].val_loss,
        "train_seconds": round(translator.train_seconds, 1),
        "train_cpu_seconds": round(translator.train_cpu_seconds, 1),
        "out_of_time": history.out_of_time,
        "translate_seconds": round(time.perf_counter() - started, 1),
        "process_cpu_seconds": round(time.process_time() - cpu_start, 1),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--models", default="gru,lstm,rnn,transformer")
    parser.add_argument("--eval-limit", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default="benchmarks/results/translate_cells.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pairs = load_pairs(args.data, max_words=9)
    split = split_by_source(pairs, 0.05, 0.05, args.seed)
    test = limit_sources(split.test, args.eval_limit)
    started = time.perf_counter()
    retrieved = RetrievalBaseline(split.train).translate(list(group_references(test)))
    retrieval = score_translations(test, dict(zip(group_references(test), retrieved, strict=True)))
    print(
        f"retrieval: BLEU {retrieval['bleu']} ({time.perf_counter() - started:.0f} s)", flush=True
    )
    rows = []
    for name in args.models.split(","):
        row = run_one(name, split, test, args.minutes, args.seed)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {
        "minutes_per_model": args.minutes,
        "seed": args.seed,
        "scored": {"pairs": len(test), "sources": len(group_references(test))},
        "retrieval": retrieval,
        "rows": rows,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
