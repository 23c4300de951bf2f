"""The encoder-decoder with attention.

* Encoder: word embedding, a bidirectional recurrent stack of any registered cell and backend
  (:func:`rnnkit.models.make_recurrent`), run on the packed padded batch so that padding never
  enters a state. Its final states of both directions are mapped (linear + tanh) to the
  decoder's initial state, layer by layer (both ``h`` and ``c`` for LSTM-like cells).
* Attention over the encoder outputs, padding masked out before the softmax:
  ``additive`` (Bahdanau et al. 2015, ``v . tanh(W q + U k)``) or ``multiplicative``
  (Luong et al. 2015, "general": ``q . W k``, divided by sqrt(H) as in Vaswani et al. 2017).
* Decoder: a unidirectional stack of the same cell reads the previous target word; its output
  attends over the source; ``tanh(W [output; context])`` is projected to the target vocabulary
  (Luong's attentional hidden state, without input feeding). Because the recurrent input does
  not depend on the attention, a teacher-forced target is decoded in one call over the whole
  sequence, and search decodes the same way one step at a time (:meth:`Seq2Seq.decode`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.config import fraction, option, positive_int
from rnnkit.errors import unknown
from rnnkit.models import backend_option, cell_option, make_recurrent

ATTENTIONS = ("additive", "multiplicative")
ARCHS = ("rnn", "transformer")
State = Any  # a cell's state: h (layers, B, H), or (h, c) for LSTM-like cells


@dataclass
class Seq2SeqConfig:
    """Everything needed to rebuild a :class:`Seq2Seq` (saved with the model)."""

    src_vocab_size: int = 4  # taken from the data
    tgt_vocab_size: int = 4  # taken from the data
    cell: str = cell_option("gru")
    backend: str = backend_option()
    embed_size: int = option(256, "width of the word embeddings", type=positive_int)
    hidden_size: int = option(
        256, "units per direction in the encoder; the decoder's width", type=positive_int
    )
    num_layers: int = option(1, "stacked recurrent layers", flag="--layers", type=positive_int)
    dropout: float = option(
        0.2,
        "dropout on embeddings, between layers and before the output projection",
        type=fraction,
    )
    attention: str = option(
        "additive",
        "additive (Bahdanau) or multiplicative (Luong, scaled by 1/sqrt(H)) scores",
        choices=ATTENTIONS,
    )
    arch: str = option(
        "rnn",
        "rnn: the recurrent encoder-decoder; transformer: a torch.nn.Transformer baseline with "
        "the same embeddings, output layer and search",
        choices=ARCHS,
    )
    heads: int = option(4, "transformer attention heads", type=positive_int)
    # 1024: about the GRU model's parameter count
    feedforward: int = option(1024, "transformer feed-forward width", type=positive_int)
    adaptive_cutoffs: list[int] = field(default_factory=list)  # [] : a full softmax
    label_smoothing: float = 0.0  # full softmax only


class OutputLayer(nn.Module):
    """Hidden states -> target words: a full softmax, or an adaptive one (Grave et al. 2017).

    The adaptive softmax gives the frequent words (ids below the first cutoff) a full-width
    head and the rarer ones narrower tail clusters, which cuts the output cost several times
    for a Zipfian vocabulary; ids are in decreasing-frequency order (see the vocabulary).
    """

    def __init__(self, hidden: int, vocab: int, cutoffs: list[int], smoothing: float) -> None:
        super().__init__()
        self.smoothing = smoothing
        if cutoffs:
            self.adaptive: nn.AdaptiveLogSoftmaxWithLoss | None = nn.AdaptiveLogSoftmaxWithLoss(
                hidden, vocab, cutoffs, div_value=4.0
            )
            self.linear = None
        else:
            self.adaptive, self.linear = None, nn.Linear(hidden, vocab)

    def loss(self, hidden: Tensor, target: Tensor) -> Tensor:
        """Mean negative log-likelihood of ``target`` (N,) given ``hidden`` (N, H)."""
        if self.adaptive is not None:  # in float32: it mixes dtypes under bf16 autocast
            with torch.autocast(device_type=hidden.device.type, enabled=False):
                return self.adaptive(hidden.float(), target).loss
        assert self.linear is not None
        return F.cross_entropy(self.linear(hidden), target, label_smoothing=self.smoothing)

    def log_prob(self, hidden: Tensor) -> Tensor:
        """(..., H) -> (..., V) log-probabilities."""
        shape = hidden.shape[:-1]
        flat = hidden.reshape(-1, hidden.shape[-1])
        if self.adaptive is not None:
            out = self.adaptive.log_prob(flat)
        else:
            assert self.linear is not None
            out = torch.log_softmax(self.linear(flat), dim=-1)
        return out.reshape(*shape, -1)

    def predict(self, hidden: Tensor) -> Tensor:
        """(..., H) -> (...) most likely ids."""
        shape = hidden.shape[:-1]
        flat = hidden.reshape(-1, hidden.shape[-1])
        if self.adaptive is not None:
            return self.adaptive.predict(flat).reshape(shape)
        assert self.linear is not None
        return self.linear(flat).argmax(dim=-1).reshape(shape)


class Attention(nn.Module):
    """Scores of queries (B, L, H) against keys (B, S, K), masked, softmax over S."""

    def __init__(self, kind: str, query_size: int, memory_size: int) -> None:
        super().__init__()
        if kind not in ATTENTIONS:
            raise unknown("attention", kind, ATTENTIONS)
        self.kind = kind
        if kind == "additive":
            self.key = nn.Linear(memory_size, query_size, bias=False)
            self.query = nn.Linear(query_size, query_size)
            self.v = nn.Linear(query_size, 1, bias=False)
        else:
            self.key = nn.Linear(memory_size, query_size, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        """Precomputed once per source batch: (B, S, memory) -> (B, S, H)."""
        return self.key(memory)

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor) -> Tensor:
        """Weights (B, L, S): rows sum to 1, zero where ``mask`` (B, S) is False (padding)."""
        if self.kind == "additive":
            hidden = torch.tanh(self.query(query).unsqueeze(2) + keys.unsqueeze(1))  # (B,L,S,H)
            scores = self.v(hidden).squeeze(-1)  # (B, L, S)
        else:
            # scaled as in Vaswani et al. 2017: unscaled scores saturated the softmax into
            # one-hot weights on Tatoeba (docs/translation.md)
            scores = query @ keys.transpose(1, 2) / query.shape[-1] ** 0.5  # (B, L, S)
        scores = scores.masked_fill(~mask.unsqueeze(1), torch.finfo(scores.dtype).min)
        return torch.softmax(scores, dim=-1)


@dataclass
class Memory:
    """The encoded source batch: outputs, attention keys and the padding mask."""

    values: Tensor  # (B, S, 2H)
    keys: Tensor  # (B, S, H)
    mask: Tensor  # (B, S) True at real words

    def select(self, index: Tensor) -> Memory:
        return Memory(self.values[index], self.keys[index], self.mask[index])


class Seq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        c = self.config = config
        layer_dropout = c.dropout if c.num_layers > 1 else 0.0
        self.src_embed = nn.Embedding(c.src_vocab_size, c.embed_size, padding_idx=0)
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, c.embed_size, padding_idx=0)
        self.encoder = make_recurrent(
            c.cell, c.embed_size, c.hidden_size, num_layers=c.num_layers,
            dropout=layer_dropout, bidirectional=True, backend=c.backend,
        )  # fmt: skip
        self.decoder = make_recurrent(
            c.cell, c.embed_size, c.hidden_size, num_layers=c.num_layers,
            dropout=layer_dropout, backend=c.backend,
        )  # fmt: skip
        self.bridge_h = nn.Linear(2 * c.hidden_size, c.hidden_size)
        self.bridge_c = nn.Linear(2 * c.hidden_size, c.hidden_size)  # used by LSTM-like cells
        self.attention = Attention(c.attention, c.hidden_size, 2 * c.hidden_size)
        self.combine = nn.Linear(3 * c.hidden_size, c.hidden_size)
        self.out = OutputLayer(
            c.hidden_size, c.tgt_vocab_size, list(c.adaptive_cutoffs), c.label_smoothing
        )
        self.drop = nn.Dropout(c.dropout)

    # -- encoder ---------------------------------------------------------------------------
    def encode(self, src: Tensor, lengths: Tensor) -> tuple[Memory, State]:
        """(B, S) ids and (B,) lengths -> the memory and the decoder's initial state."""
        embedded = self.drop(self.src_embed(src))
        packed = pack_padded_sequence(
            embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        output, state = self.encoder(packed)
        values, _ = pad_packed_sequence(output, batch_first=True, total_length=src.shape[1])
        mask = (
            torch.arange(src.shape[1], device=src.device)[None, :] < lengths.to(src.device)[:, None]
        )
        memory = Memory(values, self.attention.keys(values), mask)
        return memory, self._bridge(state)

    def _bridge(self, state: State) -> State:
        """Encoder final states (layers*2, B, H) -> decoder initial states (layers, B, H)."""

        def both_directions(h: Tensor) -> Tensor:
            layers2, batch, hidden = h.shape
            h = h.view(layers2 // 2, 2, batch, hidden)  # torch.nn's order: layer, direction
            return torch.cat([h[:, 0], h[:, 1]], dim=-1)  # (layers, B, 2H)

        if isinstance(state, tuple):
            h, c = state
            return (
                torch.tanh(self.bridge_h(both_directions(h))).contiguous(),
                self.bridge_c(both_directions(c)).contiguous(),
            )
        return torch.tanh(self.bridge_h(both_directions(state))).contiguous()

    # -- decoder ---------------------------------------------------------------------------
    def features(self, prev: Tensor, state: State, memory: Memory) -> tuple[Tensor, State, Tensor]:
        """Previous words (B, L) -> attentional states (B, L, H), new state, attention (B, L, S)."""
        output, state = self.decoder(self.drop(self.tgt_embed(prev)), state)  # (B, L, H)
        weights = self.attention(output, memory.keys, memory.mask)  # (B, L, S)
        context = weights @ memory.values  # (B, L, 2H)
        attentional = torch.tanh(self.combine(torch.cat([output, context], dim=-1)))
        return self.drop(attentional), state, weights

    def decode(self, prev: Tensor, state: State, memory: Memory) -> tuple[Tensor, State, Tensor]:
        """Previous words (B, L) -> log-probabilities (B, L, V), new state, attention (B, L, S)."""
        hidden, state, weights = self.features(prev, state, memory)
        return self.out.log_prob(hidden), state, weights

    def teacher_forced(self, src: Tensor, lengths: Tensor, prev: Tensor) -> Tensor:
        """Attentional states (B, T, H) for the target inputs ``prev`` (B, T)."""
        memory, state = self.encode(src, lengths)
        return self.features(prev, state, memory)[0]

    def predict(self, src: Tensor, lengths: Tensor, prev: Tensor) -> Tensor:
        """The most likely next word (B, T) after every teacher-forced prefix."""
        return self.out.predict(self.teacher_forced(src, lengths, prev))

    def forward(self, src: Tensor, lengths: Tensor, prev: Tensor, gold: Tensor) -> Tensor:
        """Mean loss per target word of ``gold`` (B, T) given the previous words ``prev``.

        Padding (id 0 in ``gold``) is left out.
        """
        hidden = self.teacher_forced(src, lengths, prev)
        real = gold != 0
        return self.out.loss(hidden[real], gold[real])


def build_model(config: Seq2SeqConfig) -> nn.Module:
    """The model ``config.arch`` names."""
    if config.arch == "transformer":
        from rnnkit.translate.transformer import TransformerSeq2Seq

        return TransformerSeq2Seq(config)
    if config.arch != "rnn":
        raise unknown("architecture", config.arch, ARCHS)
    return Seq2Seq(config)


def select_state(state: State, index: Tensor) -> State:
    """The rows ``index`` of a decoder state (batch is dim 1)."""
    if isinstance(state, tuple):
        return tuple(s[:, index] for s in state)
    return state[:, index]
