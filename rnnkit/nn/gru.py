"""``rnnkit.nn.GRU``: a drop-in replacement for ``torch.nn.GRU``."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn._base import RecurrentBase, State
from rnnkit.nn._gru_kernel import GRURecurrence, gru_recurrence_plain


class GRU(RecurrentBase):
    """Multi-layer GRU (Cho et al. 2014) with torch.nn.GRU's interface.

    Gate order (r, z, n) and the n-gate ``tanh(W_in x + b_in + r * (W_hn h + b_hn))`` follow
    torch.nn.GRU, as do parameter names, shapes, initialisation and ``output, h_n``.
    Training runs :class:`~rnnkit.nn._gru_kernel.GRURecurrence` (hand-written backward).
    """

    _mode = "GRU"
    _gate_count = 3

    def _run_direction(
        self, x: Tensor, state: State, layer: int, direction: int, batch_sizes: tuple[int, ...]
    ) -> tuple[Tensor, State]:
        w = self.weights(layer, direction)
        xgates = F.linear(x, w["weight_ih"], w.get("bias_ih"))  # (N, 3H): one matmul
        # b_hh stays inside the recurrence: its n-part is multiplied by r.
        args = (xgates, state[0], w["weight_hh"], w.get("bias_hh"), batch_sizes, direction == 1)
        if self._use_autograd_function(xgates, state[0]):
            out, h_n = GRURecurrence.apply(*args)
        else:
            out, h_n = gru_recurrence_plain(*args)
        return out, (h_n,)
