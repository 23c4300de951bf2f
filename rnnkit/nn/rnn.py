"""``rnnkit.nn.RNN``: a drop-in replacement for ``torch.nn.RNN`` (Elman network)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn._base import RecurrentBase, State
from rnnkit.nn._rnn_kernel import RNNRecurrence, rnn_recurrence_plain


class RNN(RecurrentBase):
    """Multi-layer Elman RNN, ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    ``nonlinearity`` is ``'tanh'`` or ``'relu'`` as in torch.nn.RNN; parameters, shapes,
    initialisation and the return value ``output, h_n`` match torch.nn.RNN.
    """

    _mode = "RNN"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,  # accepted only to refuse it, as torch.nn.RNN does
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
            proj_size=proj_size,
            device=device,
            dtype=dtype,
        )

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")

    def _run_direction(
        self, x: Tensor, state: State, layer: int, direction: int, batch_sizes: tuple[int, ...]
    ) -> tuple[Tensor, State]:
        w = self.weights(layer, direction)
        bias = w["bias_ih"] + w["bias_hh"] if self.bias else None
        xgates = F.linear(x, w["weight_ih"], bias)  # (N, H): all steps in one matmul
        relu = self.nonlinearity == "relu"
        args = (xgates, state[0], w["weight_hh"], relu, batch_sizes, direction == 1)
        if self._use_autograd_function(xgates, state[0]):
            out, h_n = RNNRecurrence.apply(*args)
        else:
            out, h_n = rnn_recurrence_plain(*args)
        return out, (h_n,)
