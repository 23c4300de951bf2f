"""``rnnkit.nn.MinGRU``: the minimal GRU of Feng et al. 2024, "Were RNNs All We Needed?"."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn._min_base import MinRecurrentBase
from rnnkit.nn._scan import g, log_g, parallel_scan_log


class MinGRU(MinRecurrentBase):
    """minGRU (Feng et al. 2024, §3.1): gates from ``x_t`` only, so training is a parallel scan.

        z_t = sigmoid(W_z x_t + b_z),   h~_t = g(W_h x_t + b_h)
        h_t = (1 - z_t) * h_{t-1} + z_t * h~_t

    ``weight_ih_l{k}`` stacks (W_z; W_h), shape (2H, in).  Training uses the log-space scan
    (the paper's "minGRU (log-space)" listing) and ``mode='sequential'`` or single steps the
    recurrence itself.  Returns ``output, h_n`` like torch.nn.GRU.
    """

    _mode = "MinGRU"
    _gate_count = 2

    def _parallel(self, proj: Tensor, h0: Tensor) -> Tensor:
        k_z, k_h = proj.chunk(2, dim=-1)  # (T, B, H) each
        log_z = -F.softplus(-k_z)  # log sigmoid(k)
        log_coeffs = -F.softplus(k_z)  # log (1 - sigmoid(k))
        return parallel_scan_log(log_coeffs, log_z + log_g(k_h), h0)

    def _sequential(self, proj: Tensor, h0: Tensor) -> Tensor:
        k_z, k_h = proj.chunk(2, dim=-1)
        z, h_tilde = torch.sigmoid(k_z), g(k_h)
        h, outs = h0, []
        for t in range(proj.shape[0]):
            h = torch.lerp(h, h_tilde[t], z[t])  # (1 - z) * h + z * h~
            outs.append(h)
        return torch.stack(outs)  # (T, B, H)
