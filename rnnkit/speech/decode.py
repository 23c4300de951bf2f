"""CTC decoding (greedy and prefix beam search) and the digit error rate.

Decoders take one utterance's log-probabilities (steps, classes), class 0 the blank and class
``d + 1`` the digit ``d``, and return the digits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor

from rnnkit.errors import UserError
from rnnkit.speech.model import BLANK


def greedy_decode(log_probs: Tensor, blank: int = BLANK) -> list[int]:
    """Best class per step, repeats merged, blanks dropped."""
    best = log_probs.argmax(dim=-1).tolist()
    digits, previous = [], blank
    for label in best:
        if label != blank and label != previous:
            digits.append(label - 1)
        previous = label
    return digits


def _add(a: float, b: float) -> float:
    """log(exp(a) + exp(b)), with -inf for "impossible"."""
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))


def _extend(
    beams: dict[tuple[int, ...], list[float]], prefix: tuple[int, ...], blank: float, label: float
) -> None:
    """Add path probabilities (ending in a blank / in the prefix's last label) to ``prefix``."""
    entry = beams.setdefault(prefix, [-math.inf, -math.inf])
    entry[0] = _add(entry[0], blank)
    entry[1] = _add(entry[1], label)


def beam_decode(log_probs: Tensor, beam_width: int = 8, blank: int = BLANK) -> list[int]:
    """CTC prefix beam search: the most probable label sequence among ``beam_width`` prefixes.

    Every prefix keeps two scores, the log-probability of the paths that reach it ending in a
    blank and ending in its last label, so that "a a" (two labels, a blank between) and "a"
    (one label held) are kept apart, and paths reaching the same prefix are summed.
    """
    if beam_width < 1:
        raise UserError(f"beam width must be >= 1, got {beam_width}")
    neg = -math.inf
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, neg)}  # prefix: (blank, label)
    for row in log_probs.tolist():
        following: dict[tuple[int, ...], list[float]] = {}
        for prefix, (p_blank, p_label) in beams.items():
            total = _add(p_blank, p_label)
            for c, lp in enumerate(row):
                if c == blank:
                    _extend(following, prefix, total + lp, neg)
                elif prefix and prefix[-1] == c:
                    _extend(following, prefix, neg, p_label + lp)  # the held label continues
                    _extend(following, prefix + (c,), neg, p_blank + lp)  # a new one after a blank
                else:
                    _extend(following, prefix + (c,), neg, total + lp)
        ranked = sorted(following.items(), key=lambda kv: _add(*kv[1]), reverse=True)
        beams = {prefix: (b, lab) for prefix, (b, lab) in ranked[:beam_width]}
    best = max(beams.items(), key=lambda kv: _add(*kv[1]))[0]
    return [c - 1 for c in best]


def as_text(digits: Sequence[int]) -> str:
    """Digits as the transcript the CLI prints: ``"3 1 4"``."""
    return " ".join(str(d) for d in digits)


def digit_error_rate(
    references: Sequence[Sequence[int]], hypotheses: Sequence[Sequence[int]]
) -> float:
    """(substitutions + deletions + insertions) / reference digits, over the whole set.

    The word error rate of ``jiwer`` over space-separated digits (the 'speech' extra).
    """
    try:
        import jiwer
    except ImportError:
        raise UserError(
            "the digit error rate needs the 'jiwer' package: pip install 'rnnkit[speech]'"
        ) from None
    if len(references) != len(hypotheses):
        raise ValueError("as many hypotheses as references are needed")
    if not references or any(len(r) == 0 for r in references):
        raise UserError("every reference transcript needs at least one digit")
    return float(jiwer.wer([as_text(r) for r in references], [as_text(h) for h in hypotheses]))
