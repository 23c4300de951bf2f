"""Log-space parallel scan for the min-RNNs (Feng et al. 2024, "Were RNNs All We Needed?").

The linear recurrence ``h_t = a_t * h_{t-1} + b_t`` (``a_t`` in (0, 1), ``b_t > 0``) is
evaluated for all ``t`` at once with Heinsen's (2023) log-cumsum-exp form,

    a*_t = sum_{k<=t} log a_k,    h_t = exp(a*_t + logcumsumexp_{k<=t}(log b_k - a*_k)),

which is Listing/Algorithm "parallel_scan_log" of the paper.  The initial state enters
linearly, ``h_t += exp(a*_t) * h_0``, so ``h_0`` may be zero or negative (the paper's version
prepends ``log h_0`` to the scan and therefore needs ``h_0 > 0``).

Precision: ``a*_t`` grows linearly with ``t`` and the last line cancels it again, which costs
about ``|a*_t| * eps`` relative precision (~1e-4 after a few thousand float32 steps).  The
scan therefore runs in float64 for lower-precision inputs and casts the result back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def g(x: Tensor) -> Tensor:
    """The paper's positive activation g(x) = x + 0.5 for x >= 0, sigmoid(x) otherwise."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    """log(g(x)) computed stably: log(relu(x) + 0.5) for x >= 0, -softplus(-x) otherwise."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def parallel_scan_log(log_coeffs: Tensor, log_values: Tensor, h0: Tensor | None) -> Tensor:
    """All ``h_t`` of ``h_t = exp(log_coeffs_t) h_{t-1} + exp(log_values_t)``.

    ``log_coeffs``, ``log_values``: (T, B, H), time-major; ``h0``: (B, H) or None for zeros.
    Returns (T, B, H).
    """
    dtype = log_coeffs.dtype
    work = torch.float64 if dtype in (torch.float32, torch.float16, torch.bfloat16) else dtype
    a_star = torch.cumsum(log_coeffs.to(work), dim=0)  # (T, B, H) log of a_1 * ... * a_t
    h = torch.exp(a_star + torch.logcumsumexp(log_values.to(work) - a_star, dim=0))
    if h0 is not None:
        h = h + torch.exp(a_star) * h0.to(work)
    return h.to(dtype)
