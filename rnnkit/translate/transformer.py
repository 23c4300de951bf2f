"""A ``torch.nn.Transformer`` encoder-decoder with the :class:`Seq2Seq` interface (a baseline).

It exists to compare the recurrent model with a Transformer of about the same parameter count
under the same data, vocabularies, output layer, training loop and search. The decoder state of
search is the prefix decoded so far, stored as (steps, B) ids so that it reorders along dim 1
like a recurrent state; each step re-runs the decoder over the whole prefix (no key/value cache:
simple, and cheap for sentences under 20 words). Cross-attention weights are not exposed by
``nn.Transformer``, so no attention map is returned.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.translate.model import Memory, OutputLayer, Seq2SeqConfig

MAX_POSITIONS = 128


class TransformerSeq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        c = self.config = config
        d = c.hidden_size
        self.src_embed = nn.Embedding(c.src_vocab_size, d, padding_idx=0)
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, d, padding_idx=0)
        self.positions = nn.Embedding(MAX_POSITIONS, d)
        # torch.nn.Transformer's own parts, built here to turn off nested tensors (which pre-norm
        # layers cannot use and warn about); pre-norm trains without a learning-rate warm-up
        layer: dict[str, Any] = {"d_model": d, "nhead": c.heads, "dim_feedforward": c.feedforward,
                 "dropout": c.dropout, "batch_first": True, "norm_first": True}  # fmt: skip
        self.transformer = nn.Transformer(
            **layer,
            custom_encoder=nn.TransformerEncoder(
                nn.TransformerEncoderLayer(**layer), c.num_layers, norm=nn.LayerNorm(d),
                enable_nested_tensor=False,
            ),
            custom_decoder=nn.TransformerDecoder(
                nn.TransformerDecoderLayer(**layer), c.num_layers, norm=nn.LayerNorm(d)
            ),
        )  # fmt: skip
        self.out = OutputLayer(d, c.tgt_vocab_size, list(c.adaptive_cutoffs), c.label_smoothing)
        self.drop = nn.Dropout(c.dropout)

    def _embed(self, table: nn.Embedding, ids: Tensor) -> Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device).clamp(max=MAX_POSITIONS - 1)
        return self.drop(table(ids) * table.embedding_dim**0.5 + self.positions(positions))

    def encode(self, src: Tensor, lengths: Tensor) -> tuple[Memory, Tensor]:
        mask = torch.arange(src.shape[1], device=src.device)[None, :] < lengths[:, None]
        values = self.transformer.encoder(
            self._embed(self.src_embed, src), src_key_padding_mask=~mask
        )
        empty = torch.zeros(0, src.shape[0], dtype=torch.int64, device=src.device)
        return Memory(values, values, mask), empty

    def features(self, prev: Tensor, memory: Memory) -> Tensor:
        steps = prev.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(steps, device=prev.device)
        return self.drop(
            self.transformer.decoder(
                self._embed(self.tgt_embed, prev),
                memory.values,
                tgt_mask=causal,
                tgt_is_causal=True,
                memory_key_padding_mask=~memory.mask,
            )
        )

    def decode(self, prev: Tensor, state: Tensor, memory: Memory) -> tuple[Tensor, Tensor, None]:
        prefix = torch.cat([state.T, prev], dim=1)  # (B, steps so far + L)
        hidden = self.features(prefix, memory)[:, -prev.shape[1] :]
        return self.out.log_prob(hidden), prefix.T, None

    def predict(self, src: Tensor, lengths: Tensor, prev: Tensor) -> Tensor:
        memory, _ = self.encode(src, lengths)
        return self.out.predict(self.features(prev, memory))

    def forward(self, src: Tensor, lengths: Tensor, prev: Tensor, gold: Tensor) -> Tensor:
        memory, _ = self.encode(src, lengths)
        hidden = self.features(prev, memory)
        real = gold != 0
        return self.out.loss(hidden[real], gold[real])
