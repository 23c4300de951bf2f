"""CTC decoding on hand-made posteriors, and the digit error rate."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from rnnkit.errors import UserError
from rnnkit.speech.decode import as_text, beam_decode, digit_error_rate, greedy_decode

pytest.importorskip("jiwer")  # the speech extra (part of dev)


def posteriors(rows: list[list[float]]) -> torch.Tensor:
    """Probabilities per step (each row sums to 1) as log-probs."""
    p = torch.tensor(rows, dtype=torch.float64)
    assert torch.allclose(p.sum(dim=1), torch.ones(len(rows), dtype=torch.float64))
    return p.log()


def one_hot_path(path: list[int], classes: int = 11, peak: float = 0.9) -> torch.Tensor:
    rest = (1 - peak) / (classes - 1)
    return posteriors([[peak if c == k else rest for c in range(classes)] for k in path])


def test_greedy_merges_repeats_and_drops_blanks() -> None:
    # classes: 0 blank, d + 1 digit d; path  _ 3 3 _ 3 5 5 _  ->  digits 2 2 4
    assert greedy_decode(one_hot_path([0, 3, 3, 0, 3, 5, 5, 0])) == [2, 2, 4]
    assert greedy_decode(one_hot_path([1, 1, 1])) == [0]
    assert greedy_decode(one_hot_path([0, 0])) == []


def test_beam_finds_what_greedy_misses() -> None:
    # two steps, blank 0.6 / digit-0 0.4 each: the best path is blank-blank (0.36), but the
    # label "0" collects a-a, a-_, _-a = 0.16 + 0.24 + 0.24 = 0.64
    lp = posteriors([[0.6, 0.4], [0.6, 0.4]])  # classes: blank, digit 0
    assert greedy_decode(lp) == []
    assert beam_decode(lp, beam_width=4) == [0]


def test_beam_keeps_a_repeated_digit_apart_from_a_held_one() -> None:
    assert beam_decode(one_hot_path([4, 0, 4]), beam_width=4) == [3, 3]
    assert beam_decode(one_hot_path([4, 4, 4]), beam_width=4) == [3]


def brute_force_best(log_probs: torch.Tensor) -> tuple[int, ...]:
    """The labelling with the highest total probability, summing every path to it."""
    steps, classes = log_probs.shape
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(classes), repeat=steps):
        labels, previous = [], 0
        for c in path:
            if c != 0 and c != previous:
                labels.append(c - 1)
            previous = c
        p = math.exp(sum(float(log_probs[t, c]) for t, c in enumerate(path)))
        totals[tuple(labels)] = totals.get(tuple(labels), 0.0) + p
    return max(totals, key=totals.__getitem__)


@pytest.mark.parametrize("seed", range(5))
def test_wide_beam_equals_exhaustive_search(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    log_probs = torch.randn(5, 3, generator=generator, dtype=torch.float64).log_softmax(-1)
    # with 3 classes and 5 steps a beam of 64 keeps every prefix: the search is exact
    assert tuple(beam_decode(log_probs, beam_width=64)) == brute_force_best(log_probs)


def test_beam_width_must_be_positive() -> None:
    with pytest.raises(UserError):
        beam_decode(one_hot_path([0]), beam_width=0)


def test_digit_error_rate_counts_edits_over_reference_digits() -> None:
    # one deletion (3) in the first, one insertion (6) in the second: 2 edits / 5 digits
    assert digit_error_rate([[1, 2, 3], [4, 5]], [[1, 2], [4, 6, 5]]) == pytest.approx(0.4)
    assert digit_error_rate([[7]], [[7]]) == 0.0
    assert digit_error_rate([[7, 7]], [[]]) == 1.0  # an empty transcript deletes everything


def test_digit_error_rate_needs_references() -> None:
    with pytest.raises(UserError):
        digit_error_rate([[]], [[1]])


def test_transcript_text() -> None:
    assert as_text([3, 1, 4]) == "3 1 4"
    assert as_text([]) == ""
