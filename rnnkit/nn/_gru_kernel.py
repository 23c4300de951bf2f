"""Recurrent part of one GRU layer/direction: a plain loop and a hand-written backward.

The caller computes ``xgates = x @ W_ih^T + b_ih`` for all steps in one matrix multiply.
Gate order and the n-gate form are those of ``torch.nn.GRU`` (r, z, n):

    hg = h_{t-1} @ W_hh^T + b_hh
    r = sigmoid(xg_r + hg_r),  z = sigmoid(xg_z + hg_z)
    n = tanh(xg_n + r * hg_n)          # r multiplies (W_hn h + b_hn), as in torch.nn.GRU
    h_t = (1 - z) * n + z * h_{t-1}    # = lerp(n, h_{t-1}, z)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit.nn._layout import prev_index, step_order


def _hidden_gates(h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    return torch.mm(h, w_hh.t()) if b_hh is None else torch.addmm(b_hh, h, w_hh.t())


def gru_recurrence_plain(
    xgates: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None,
    batch_sizes: tuple[int, ...],
    reverse: bool,
) -> tuple[Tensor, Tensor]:
    """Functional step loop (no in-place writes): used without autograd and for tracing."""
    x_steps = xgates.split(batch_sizes)
    full = batch_sizes[0]
    h = h0
    outs: list[Tensor] = [h0] * len(batch_sizes)
    for t in step_order(len(batch_sizes), reverse):
        b = batch_sizes[t]
        xr, xz, xn = x_steps[t].chunk(3, 1)
        hr, hz, hn = _hidden_gates(h[:b], w_hh, b_hh).chunk(3, 1)  # (b, H) each
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h_new = torch.lerp(n, h[:b], z)
        outs[t] = h_new
        h = h_new if b == full else torch.cat([h_new, h[b:]])
    return torch.cat(outs), h


def _forward_saving(
    xgates: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None,
    batch_sizes: tuple[int, ...],
    reverse: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Step loop writing r, z, n and W_hn h + b_hn into buffers kept for backward."""
    hid, full = h0.shape[1], batch_sizes[0]
    acts = torch.empty_like(xgates)  # (N, 3H) r, z, n
    hidden_n = xgates.new_empty(xgates.shape[0], hid)  # (N, H) W_hn h + b_hn
    out = torch.empty_like(hidden_n)  # (N, H)
    x_s, a_s, hn_s, out_s = (buf.split(batch_sizes) for buf in (xgates, acts, hidden_n, out))
    h = h0
    for t in step_order(len(batch_sizes), reverse):
        b = batch_sizes[t]
        x, a = x_s[t], a_s[t]
        hg = _hidden_gates(h[:b], w_hh, b_hh)  # (b, 3H)
        rz = torch.add(x[:, : 2 * hid], hg[:, : 2 * hid], out=a[:, : 2 * hid]).sigmoid_()
        hn_s[t].copy_(hg[:, 2 * hid :])
        n = torch.mul(rz[:, :hid], hn_s[t], out=a[:, 2 * hid :]).add_(x[:, 2 * hid :])
        n.mul_(2).sigmoid_().mul_(2).sub_(1)  # tanh(u) = 2 sigmoid(2u) - 1, see _lstm_kernel
        h_new = torch.lerp(n, h[:b], rz[:, hid:], out=out_s[t])
        h = h_new if b == full else torch.cat([h_new, h[b:]])
    return out, h.clone(), acts, hidden_n


class GRURecurrence(torch.autograd.Function):
    """GRU time loop with a backward through time written by hand.

    All local derivatives are computed for every step at once before the reverse loop, which
    then does 4 ops per step (one broadcast multiply gives dr, dz, dn and d(W_hn h)); the
    weight gradients are single matmuls over all steps: ``dW_hh = dhg^T @ h_prev``.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        xgates: Tensor,
        h0: Tensor,
        w_hh: Tensor,
        b_hh: Tensor | None,
        batch_sizes: tuple[int, ...],
        reverse: bool,
    ) -> tuple[Tensor, Tensor]:
        out, h_n, acts, hidden_n = _forward_saving(xgates, h0, w_hh, b_hh, batch_sizes, reverse)
        ctx.save_for_backward(h0, w_hh, out, acts, hidden_n)
        ctx.batch_sizes, ctx.reverse, ctx.has_bias = batch_sizes, reverse, b_hh is not None
        return out, h_n

    @staticmethod
    def backward(ctx: Any, d_out: Tensor, d_hn: Tensor) -> tuple[Any, ...]:
        h0, w_hh, out, acts, hidden_n = ctx.saved_tensors
        batch_sizes, reverse = ctx.batch_sizes, ctx.reverse
        hid, full, rows = h0.shape[1], batch_sizes[0], out.shape[0]
        h_prev = torch.cat([h0, out])[prev_index(batch_sizes, reverse, out.device)]  # (N, H)
        r, z, n = acts.chunk(3, 1)
        dn = (1 - z) * (1 - n * n)  # d h_t / d (n pre-activation)
        factors = torch.stack(
            [dn * hidden_n * r * (1 - r), (h_prev - n) * z * (1 - z), dn * r, dn], dim=1
        )  # (N, 4, H): multiplied by dh_t they give [d r_pre, d z_pre, d hg_n, d n_pre]
        grads = torch.empty_like(factors)
        g_s, f_s, z_s, do_s = (buf.split(batch_sizes) for buf in (grads, factors, z, d_out))
        dh = d_hn
        for t in reversed(step_order(len(batch_sizes), reverse)):
            b = batch_sizes[t]
            dh_t = do_s[t] + dh[:b]  # (b, H)
            g = torch.mul(dh_t.unsqueeze(1), f_s[t], out=g_s[t])  # (b, 4, H)
            dh_new = torch.addmm(dh_t * z_s[t], g.view(b, 4 * hid)[:, : 3 * hid], w_hh)
            dh = dh_new if b == full else torch.cat([dh_new, dh[b:]])
        d_hidden = grads.view(rows, 4 * hid)[:, : 3 * hid]  # (N, 3H) d(h @ W_hh^T + b_hh)
        d_xgates = grads[:, (0, 1, 3)].reshape(rows, 3 * hid)  # (N, 3H) [dr, dz, dn]
        d_w_hh = d_hidden.t() @ h_prev
        d_b_hh = d_hidden.sum(0) if ctx.has_bias else None
        return d_xgates, dh, d_w_hh, d_b_hh, None, None
