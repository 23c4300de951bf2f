"""Text for the character language model: reading, the vocabulary, streams, n-gram baselines.

Stateful truncated back-propagation through time (Williams & Peng 1990; the char-rnn recipe)
cuts the text into ``streams`` parallel rows and serves consecutive chunks of ``seq_len``
characters, so that in every row chunk k+1 continues chunk k::

    stream s:  text[o + s*L : o + (s+1)*L]   (L characters each, o a per-epoch offset)
    batch k:   x = stream[:, k*T : (k+1)*T],  y = the same positions shifted by one character

The hidden state left by batch k is the right initial state for batch k+1 (see
:class:`rnnkit.text.StatefulLMLoss`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import UserError


class Vocabulary:
    """The characters a model knows, in sorted order; id ``i`` is ``chars[i]``."""

    def __init__(self, chars: str) -> None:
        if not chars or len(set(chars)) != len(chars):
            raise ValueError("a vocabulary needs distinct characters")
        self.chars = "".join(sorted(chars))
        self._codes = np.array([ord(c) for c in self.chars], dtype=np.int64)  # sorted

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        return cls("".join(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> Tensor:
        """Character ids, (len(text),) int64; a character outside the vocabulary is an error."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        ids = np.searchsorted(self._codes, codes).clip(max=len(self) - 1)
        bad = np.flatnonzero(self._codes[ids] != codes)
        if bad.size:
            char = text[int(bad[0])]
            raise UserError(
                f"character {char!r} (U+{ord(char):04X}) at position {int(bad[0])} is not in "
                f"the model's vocabulary of {len(self)} characters"
            )
        return torch.from_numpy(ids)

    def decode(self, ids: Tensor | list[int]) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    """Chronological split: the first part trains, the last ``val_fraction`` validates."""
    cut = len(text) - int(round(val_fraction * len(text)))
    return text[:cut], text[cut:]


class TextStreams:
    """A text cut into ``streams`` parallel rows, served as consecutive (input, target) chunks.

    ``iter_batches`` ignores its ``batch_size``: the number of rows is fixed here, because
    batch k+1 must continue batch k row by row. With ``shuffle`` (training), each pass starts
    at a random offset in [0, seq_len) so that chunk boundaries move between epochs, and only
    full chunks are served; otherwise every target from position 1 to ``streams * L`` is
    served, the last chunk possibly shorter. ``steps_per_pass`` caps the chunks of a training
    pass (to train for a number of steps shorter than a pass over the text).
    """

    def __init__(
        self, ids: Tensor, *, streams: int, seq_len: int, steps_per_pass: int | None = None
    ) -> None:
        if streams <= 0 or seq_len <= 0:
            raise UserError(f"streams and seq_len must be positive, got {streams}, {seq_len}")
        if ids.shape[0] < 2:
            raise UserError("a text needs at least 2 characters (one input and one target)")
        self.ids, self.streams, self.seq_len = ids, streams, seq_len
        self.steps_per_pass = steps_per_pass

    def stream_length(self, *, shuffle: bool) -> int:
        """Characters per row (``L``); training leaves room for the random offset."""
        reserve = self.seq_len if shuffle else 1
        return (int(self.ids.shape[0]) - reserve) // self.streams

    @property
    def steps_per_epoch(self) -> int:
        """Chunks per training pass: every full one, or ``steps_per_pass`` when fewer."""
        full = self.stream_length(shuffle=True) // self.seq_len
        return min(full, self.steps_per_pass) if self.steps_per_pass else full

    def __len__(self) -> int:
        """Targets served per evaluation pass."""
        return self.streams * self.stream_length(shuffle=False)

    def iter_batches(
        self,
        batch_size: int = 0,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield ``(x, y)``, each (streams, T) int64; y is x shifted by one character."""
        length = self.stream_length(shuffle=shuffle)
        offset = int(torch.randint(self.seq_len, (1,), generator=generator)) if shuffle else 0
        span = self.streams * length
        x_all = self.ids[offset : offset + span].view(self.streams, length)  # (streams, L)
        y_all = self.ids[offset + 1 : offset + span + 1].view(self.streams, length)
        end = self.steps_per_epoch * self.seq_len if shuffle else length
        for start in range(0, end, self.seq_len):
            stop = min(start + self.seq_len, end)
            yield x_all[:, start:stop], y_all[:, start:stop]  # (streams, T) views


def check_trainable(n_train: int, n_val: int, streams: int, seq_len: int) -> None:
    """A clear error when the text is too short for one training batch or for validation."""
    needed = streams * seq_len + seq_len
    if n_train < needed:
        raise UserError(
            f"the training part of the text has {n_train} characters, fewer than one batch "
            f"needs ({streams} streams x {seq_len} characters + {seq_len}); use a longer text "
            "or a smaller --seq-len / --batch-size"
        )
    if n_val < 2:
        raise UserError(
            f"the validation part of the text has {n_val} characters; it needs at least 2"
        )


def ngram_bits_per_char(train: Tensor, val: Tensor, vocab_size: int) -> dict[str, float]:
    """Bits per character of add-one (Laplace) smoothed unigram and bigram models.

    Both are fitted on ``train`` and scored on the targets ``val[1:]`` (the bigram conditions
    on ``val[:-1]``), the same targets the language model is scored on. Add-one smoothing:
    p(b) = (n(b) + 1) / (N + V) and p(b | a) = (n(a, b) + 1) / (n(a, .) + V).
    """
    t, v = train.numpy(), val.numpy()
    unigram = np.bincount(t, minlength=vocab_size) + 1.0
    unigram /= unigram.sum()
    pairs = np.bincount(t[:-1] * vocab_size + t[1:], minlength=vocab_size * vocab_size)
    bigram = pairs.reshape(vocab_size, vocab_size) + 1.0
    bigram /= bigram.sum(axis=1, keepdims=True)
    return {
        "unigram_bpc": float(-np.mean(np.log2(unigram[v[1:]]))),
        "bigram_bpc": float(-np.mean(np.log2(bigram[v[:-1], v[1:]]))),
    }
