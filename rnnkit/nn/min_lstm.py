"""``rnnkit.nn.MinLSTM``: the minimal LSTM of Feng et al. 2024, "Were RNNs All We Needed?"."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn._min_base import MinRecurrentBase
from rnnkit.nn._scan import g, log_g, parallel_scan_log


class MinLSTM(MinRecurrentBase):
    """minLSTM (Feng et al. 2024, §3.2) with the time-independent normalised gates.

        f_t = sigmoid(W_f x_t + b_f),  i_t = sigmoid(W_i x_t + b_i),  h~_t = g(W_h x_t + b_h)
        f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
        h_t = f'_t * h_{t-1} + i'_t * h~_t

    ``weight_ih_l{k}`` stacks (W_f; W_i; W_h), shape (3H, in).  There is no cell state (the
    paper drops it), so the return value is ``output, h_n`` like torch.nn.GRU.
    """

    _mode = "MinLSTM"
    _gate_count = 3

    def _parallel(self, proj: Tensor, h0: Tensor) -> Tensor:
        k_f, k_i, k_h = proj.chunk(3, dim=-1)  # (T, B, H) each
        # log f' = -softplus(log i - log f), log i' = -softplus(log f - log i), with
        # log i - log f = softplus(-k_f) - softplus(-k_i) (the paper's log-space minLSTM).
        diff = F.softplus(-k_f) - F.softplus(-k_i)
        log_f, log_i = -F.softplus(diff), -F.softplus(-diff)
        return parallel_scan_log(log_f, log_i + log_g(k_h), h0)

    def _sequential(self, proj: Tensor, h0: Tensor) -> Tensor:
        k_f, k_i, k_h = proj.chunk(3, dim=-1)
        f, i, h_tilde = torch.sigmoid(k_f), torch.sigmoid(k_i), g(k_h)
        f_norm = f / (f + i)  # i' = 1 - f'
        h, outs = h0, []
        for t in range(proj.shape[0]):
            h = torch.lerp(h_tilde[t], h, f_norm[t])  # f' * h + (1 - f') * h~
            outs.append(h)
        return torch.stack(outs)  # (T, B, H)
