"""Greedy and beam search over any step-wise decoder.

The search only needs a :class:`StepDecoder`: ``step(tokens, state)`` gives log-probabilities of
the next word for K hypotheses at once, and ``reorder(state, index)`` keeps/duplicates rows.
:class:`ModelDecoder` adapts a :class:`~rnnkit.translate.model.Seq2Seq` to it; tests use
hand-made tables.

Beam search with a shrinking beam (as in Sutskever et al. 2014): with ``width = beam - finished``
live hypotheses, the ``2 * width`` best continuations are ranked; those among the first
``width`` that end in ``<eos>`` are finished, the best others (up to the new width) stay live.
It stops when ``beam`` hypotheses are finished (or at ``max_len``, where the live ones join them)
and returns the one with the best *length-normalised* score ``log p / length ** alpha`` (length
counts ``<eos>``; alpha 0 is the raw log-probability, which favours short outputs). With
``beam=1`` this is exactly greedy search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor

from rnnkit.translate.model import Memory, Seq2Seq, select_state


class StepDecoder(Protocol):
    def step(self, tokens: Tensor, state: Any) -> tuple[Tensor, Any, Tensor | None]:
        """Last tokens (K,) -> log-probabilities (K, V), new state, attention (K, S) or None."""
        ...

    def reorder(self, state: Any, index: Tensor) -> Any: ...


@dataclass
class Hypothesis:
    tokens: list[int]  # without <sos>; ends with <eos> when finished
    logprob: float
    attention: list[Tensor] = field(default_factory=list)  # one (S,) row per token

    def score(self, alpha: float) -> float:
        return self.logprob / max(1, len(self.tokens)) ** alpha


class ModelDecoder:
    """A Seq2Seq with its encoded source batch, as a :class:`StepDecoder`."""

    def __init__(self, model: Seq2Seq | Any, memory: Memory) -> None:
        self.model, self.memory = model, memory

    def step(self, tokens: Tensor, state: Any) -> tuple[Tensor, Any, Tensor | None]:
        state, memory = state
        logprobs, state, weights = self.model.decode(tokens[:, None], state, memory)
        return logprobs[:, 0], (state, memory), None if weights is None else weights[:, 0]

    def reorder(self, state: Any, index: Tensor) -> Any:
        state, memory = state
        return select_state(state, index), memory.select(index)


@torch.no_grad()
def greedy(
    decoder: StepDecoder, state: Any, batch_size: int, sos: int, eos: int, max_len: int
) -> list[Hypothesis]:
    """The most likely next word at every step, for a batch of ``batch_size`` sources."""
    tokens = torch.full((batch_size,), sos, dtype=torch.int64)
    hyps = [Hypothesis([], 0.0) for _ in range(batch_size)]
    done = torch.zeros(batch_size, dtype=torch.bool)
    for _ in range(max_len):
        logprobs, state, weights = decoder.step(tokens, state)
        best, tokens = logprobs.max(dim=-1)
        for i in torch.nonzero(~done).flatten().tolist():
            hyps[i].tokens.append(int(tokens[i]))
            hyps[i].logprob += float(best[i])
            if weights is not None:
                hyps[i].attention.append(weights[i])
        done |= tokens == eos
        if bool(done.all()):
            break
    return hyps


@torch.no_grad()
def beam_search(
    decoder: StepDecoder,
    state: Any,
    sos: int,
    eos: int,
    max_len: int,
    beam: int = 5,
    alpha: float = 1.0,
) -> Hypothesis:
    """The best hypothesis for one source (``state`` has batch size 1)."""
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    live = [Hypothesis([], 0.0)]
    finished: list[Hypothesis] = []
    tokens = torch.tensor([sos])
    for _ in range(max_len):
        logprobs, state, weights = decoder.step(tokens, state)  # (K, V)
        total = logprobs + torch.tensor([h.logprob for h in live])[:, None]
        width = beam - len(finished)
        values, flat = total.flatten().topk(min(2 * width, total.numel()))
        vocab = total.shape[1]
        rows: list[int] = []
        next_live: list[Hypothesis] = []
        for rank, (value, index) in enumerate(zip(values.tolist(), flat.tolist(), strict=True)):
            row, word = divmod(index, vocab)
            parent = live[row]
            attention = parent.attention + ([weights[row]] if weights is not None else [])
            hyp = Hypothesis(parent.tokens + [word], value, attention)
            if word == eos:
                if rank < width:
                    finished.append(hyp)
            elif len(next_live) < width:
                next_live.append(hyp)
                rows.append(row)
        del next_live[max(0, beam - len(finished)) :], rows[max(0, beam - len(finished)) :]
        if len(finished) >= beam or not next_live:
            break
        live = next_live
        state = decoder.reorder(state, torch.tensor(rows))
        tokens = torch.tensor([h.tokens[-1] for h in live])
    else:
        finished.extend(live)  # max_len reached: the unfinished ones compete too
    return max(finished, key=lambda h: h.score(alpha))
