"""The recurrent network of the character language model and its stateful, truncated-BPTT loss.

Training is the char-rnn recipe on rnnkit's one fit loop: the text is cut into parallel
streams (:class:`rnnkit.text.data.TextStreams`), consecutive chunks of each stream are
consecutive batches, and :class:`StatefulLMLoss` carries the recurrent state from one batch to
the next, detached, so gradients flow back at most ``seq_len`` characters. The loss is the
cross-entropy in bits per character, so learning curves read in bits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import UserError
from rnnkit.models import ModelConfig, recurrent_from
from rnnkit.text.data import TextStreams
from rnnkit.training import Batch

State = Tensor | tuple[Tensor, ...]


def map_state(state: State, fn: Callable[[Tensor], Tensor]) -> State:
    """``fn`` applied to a recurrent state: ``h_n``, or each tensor of an LSTM's (h_n, c_n)."""
    if isinstance(state, tuple):
        return tuple(fn(s) for s in state)
    return fn(state)


def detach_state(state: State) -> State:
    """The same recurrent state without its autograd history."""
    return map_state(state, Tensor.detach)


class CharLMNet(nn.Module):
    """Embedding -> recurrent stack -> linear softmax head: one next-character guess per step.

    Uses a :class:`ModelConfig` with ``input_size`` = embedding width and ``output_size`` =
    vocabulary size.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.bidirectional:
            raise UserError("a language model reads left to right; drop --bidirectional")
        self.config = config
        self.embed = nn.Embedding(config.output_size, config.input_size)
        self.rnn = recurrent_from(config, config.input_size)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.output_size)

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """(batch, time) character ids -> logits (batch, time, vocab) and the final state."""
        h = self.embed(x)  # (batch, time, embed)
        out, state = self.rnn(h, state)  # (batch, time, hidden)
        return self.head(self.drop(out)), state  # (batch, time, vocab)


class StatefulLMLoss:
    """Next-character cross-entropy in bits, carrying the hidden state across batches.

    ``fit`` calls :meth:`start_epoch` before every training and evaluation pass, which resets
    the state to zeros (``None``); within a pass, batch k+1 starts from batch k's final state.
    """

    def __init__(self) -> None:
        self.state: State | None = None

    def start_epoch(self) -> None:
        self.state = None

    def state_dict(self) -> dict[str, Tensor]:
        """The carried state as named tensors (checkpointed by ``fit`` mid-epoch)."""
        if self.state is None:
            return {}
        parts = self.state if isinstance(self.state, tuple) else (self.state,)
        return {str(i): p for i, p in enumerate(parts)}

    def load_state_dict(self, tensors: dict[str, Tensor]) -> None:
        parts = tuple(tensors[k] for k in sorted(tensors, key=int))
        self.state = None if not parts else parts if len(parts) > 1 else parts[0]

    def __call__(self, model: nn.Module, batch: Batch) -> Tensor:
        x, y = batch  # (streams, T) each
        if self.state is not None:  # e.g. restored from a checkpoint on the CPU
            self.state = map_state(self.state, lambda s: s.to(x.device))
        logits, state = model(x, self.state)  # (streams, T, vocab)
        self.state = detach_state(state)  # carried over; the gradient stops here
        return F.cross_entropy(logits.flatten(0, 1), y.flatten()) / math.log(2)


@torch.inference_mode()
def bits_per_char(model: nn.Module, ids: Tensor, seq_len: int, device: torch.device) -> float:
    """Mean bits per character of ``ids[1:]`` read as one stream, the state carried throughout."""
    model.eval()
    loss, total, count = StatefulLMLoss(), 0.0, 0
    for x, y in TextStreams(ids, streams=1, seq_len=seq_len).iter_batches():
        total += float(loss(model, (x.to(device), y.to(device)))) * y.numel()
        count += y.numel()
    return total / count
