"""The translator's options (:class:`TranslatorConfig`), declared once: flags, config files
and the saved run are generated from them (:mod:`rnnkit.config`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from rnnkit.config import fraction, non_negative_float, non_negative_int, option, positive_int
from rnnkit.training import TrainConfig
from rnnkit.translate.model import Seq2SeqConfig


def share_pair(text: str) -> list[float]:
    """``START,END``: two shares in [0, 1] (the teacher-forcing schedule)."""
    try:
        shares = [float(x) for x in text.split(",")]
    except ValueError:
        shares = []
    if len(shares) != 2 or not all(0.0 <= x <= 1.0 for x in shares):
        raise argparse.ArgumentTypeError(f"expected START,END, two numbers in [0, 1], got '{text}'")
    return shares


@dataclass
class TranslatorConfig:
    """How a :class:`Translator` is built and trained (saved with its model)."""

    model: Seq2SeqConfig = field(default_factory=Seq2SeqConfig)
    train: TrainConfig = field(
        # 3 epochs of bf16 steps on 115k pairs fit 15 minutes of one CPU core; the time budget
        # ends training sooner on a slower or busier machine (see docs/translation.md)
        default_factory=lambda: TrainConfig(
            epochs=3, batch_size=128, lr=3e-3, patience=0, precision="bf16", max_minutes=14.0
        )
    )
    src_lang: str = option("en", "source language (a name kept with the vocabulary)")
    tgt_lang: str = option("fr", "target language (a name kept with the vocabulary)")
    max_words: int | None = option(
        None, "keep pairs whose sides both have at most N words; None: all", type=positive_int
    )
    min_count: int = option(2, "words seen fewer times in training become <unk>", type=positive_int)
    val_fraction: float = option(
        0.05, "share of distinct source sentences for validation", type=fraction
    )
    test_fraction: float = option(
        0.05, "share of distinct source sentences for the test", type=fraction
    )
    teacher_forcing: list[float] = option(
        [1.0, 0.8],
        "START,END: share of gold previous words, START for the first half of training, then "
        "linearly to END",
        type=share_pair,
    )
    label_smoothing: float = 0.1  # with a full softmax only
    adaptive_from: int = 4000  # target vocabularies at least this large get an adaptive softmax
    beam: int = option(5, "beam width of the search; 1: greedy", type=positive_int)
    length_alpha: float = option(1.0, "beam score log p / length**alpha", type=non_negative_float)
    eval_limit: int = option(
        0, "score at most N distinct test sentences; 0: all", type=non_negative_int
    )
    max_len: int = 30  # words generated at most (set from the training targets by fit)


def adaptive_cutoffs(vocab_size: int, threshold: int) -> list[int]:
    """Cluster boundaries for the adaptive softmax: [] (full softmax) below ``threshold``."""
    if vocab_size < threshold:
        return []
    return [c for c in (1500, 5000) if c < vocab_size - 500]
