"""Recurrent part of one Elman RNN layer/direction, as ``torch.nn.RNN`` computes it.

h_t = act(xg_t + h_{t-1} @ W_hh^T),  xg = x @ W_ih^T + b_ih + b_hh,  act = tanh or relu
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit.nn._layout import prev_index, step_order


def rnn_recurrence_plain(
    xgates: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    relu: bool,
    batch_sizes: tuple[int, ...],
    reverse: bool,
) -> tuple[Tensor, Tensor]:
    """Functional step loop (no in-place writes): used without autograd and for tracing."""
    x_steps = xgates.split(batch_sizes)
    full = batch_sizes[0]
    act = torch.relu if relu else torch.tanh
    h = h0
    outs: list[Tensor] = [h0] * len(batch_sizes)
    for t in step_order(len(batch_sizes), reverse):
        b = batch_sizes[t]
        h_new = act(torch.addmm(x_steps[t], h[:b], w_hh.t()))  # (b, H)
        outs[t] = h_new
        h = h_new if b == full else torch.cat([h_new, h[b:]])
    return torch.cat(outs), h


class RNNRecurrence(torch.autograd.Function):
    """Elman RNN time loop with a hand-written backward through time.

    The reverse loop does 3 ops per step (add the output gradient, multiply by the
    pre-computed act', one matmul); ``dW_hh = dpre^T @ h_prev`` is one matmul over all steps.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        xgates: Tensor,
        h0: Tensor,
        w_hh: Tensor,
        relu: bool,
        batch_sizes: tuple[int, ...],
        reverse: bool,
    ) -> tuple[Tensor, Tensor]:
        full = batch_sizes[0]
        out = torch.empty_like(xgates)  # (N, H)
        x_s, out_s = xgates.split(batch_sizes), out.split(batch_sizes)
        h, w_hh_t = h0, w_hh.t()
        for t in step_order(len(batch_sizes), reverse):
            b = batch_sizes[t]
            h_new = torch.addmm(x_s[t], h[:b], w_hh_t, out=out_s[t])
            # tanh as 2 sigmoid(2u) - 1: this CPU build's tanh is several times slower
            h_new = h_new.relu_() if relu else h_new.mul_(2).sigmoid_().mul_(2).sub_(1)
            h = h_new if b == full else torch.cat([h_new, h[b:]])
        ctx.save_for_backward(h0, w_hh, out)
        ctx.batch_sizes, ctx.reverse, ctx.relu = batch_sizes, reverse, relu
        return out, h.clone()

    @staticmethod
    def backward(ctx: Any, d_out: Tensor, d_hn: Tensor) -> tuple[Any, ...]:
        h0, w_hh, out = ctx.saved_tensors
        batch_sizes, reverse = ctx.batch_sizes, ctx.reverse
        full = batch_sizes[0]
        # act'(pre) from the output: relu' = (h > 0), tanh' = 1 - h^2
        slope = (out > 0).to(out.dtype) if ctx.relu else 1 - out * out  # (N, H)
        d_pre = torch.empty_like(out)
        p_s, s_s, do_s = (buf.split(batch_sizes) for buf in (d_pre, slope, d_out))
        dh = d_hn
        for t in reversed(step_order(len(batch_sizes), reverse)):
            b = batch_sizes[t]
            dp = torch.mul(do_s[t] + dh[:b], s_s[t], out=p_s[t])  # (b, H)
            dh_new = torch.mm(dp, w_hh)
            dh = dh_new if b == full else torch.cat([dh_new, dh[b:]])
        h_prev = torch.cat([h0, out])[prev_index(batch_sizes, reverse, out.device)]  # (N, H)
        return d_pre, dh, d_pre.t() @ h_prev, None, None, None
