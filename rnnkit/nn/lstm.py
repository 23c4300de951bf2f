"""``rnnkit.nn.LSTM``: a drop-in replacement for ``torch.nn.LSTM``."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn._base import RecurrentBase, State
from rnnkit.nn._lstm_kernel import LSTMRecurrence, lstm_recurrence_plain


class LSTM(RecurrentBase):
    """Multi-layer LSTM (Hochreiter & Schmidhuber 1997) with torch.nn.LSTM's interface.

    Same constructor arguments, parameter names/shapes/initialisation (so ``load_state_dict``
    works both ways), gate order (i, f, g, o), optional projection ``proj_size`` (Sak et al.
    2014, ``weight_hr``), PackedSequence handling and return value ``output, (h_n, c_n)``.
    Training runs :class:`~rnnkit.nn._lstm_kernel.LSTMRecurrence`, whose backward is
    written by hand; without autograd a plain loop of tensor ops runs instead.
    """

    _mode = "LSTM"
    _gate_count = 4
    _supports_proj = True
    _has_cell = True

    def _run_direction(
        self, x: Tensor, state: State, layer: int, direction: int, batch_sizes: tuple[int, ...]
    ) -> tuple[Tensor, State]:
        w = self.weights(layer, direction)
        bias = w["bias_ih"] + w["bias_hh"] if self.bias else None
        h0, c0 = state
        w_hr = w.get("weight_hr")
        reverse = direction == 1
        if self._use_autograd_function(x, h0, c0):
            out, h_n, c_n = LSTMRecurrence.apply(
                x, w["weight_ih"], bias, h0, c0, w["weight_hh"], w_hr, batch_sizes, reverse
            )
        else:
            xgates = F.linear(x, w["weight_ih"], bias)  # (N, 4H): all steps in one matmul
            out, h_n, c_n = lstm_recurrence_plain(
                xgates, h0, c0, w["weight_hh"], w_hr, batch_sizes, reverse
            )
        return out, (h_n, c_n)
