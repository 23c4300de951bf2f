"""Recurrent part of one LSTM layer/direction: a plain loop and a hand-written backward.

The input projection ``x @ W_ih^T + b_ih + b_hh`` for all steps is done by the caller in one
matrix multiply (ordinary autograd).  This module runs the recurrence on those pre-computed
gate inputs, in the gate order of ``torch.nn.LSTM`` (i, f, g, o):

    gates_t = xgates_t + h_{t-1} @ W_hh^T
    i, f, o = sigmoid(.), g = tanh(.)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)            (then h_t = h_t @ W_hr^T when proj_size > 0)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit.nn._layout import prev_index, step_order


def lstm_recurrence_plain(
    xgates: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_hh: Tensor,
    w_hr: Tensor | None,
    batch_sizes: tuple[int, ...],
    reverse: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Functional step loop (no in-place writes): used without autograd and for tracing."""
    x_steps = xgates.split(batch_sizes)
    full = batch_sizes[0]
    h, c = h0, c0
    outs: list[Tensor] = [h0] * len(batch_sizes)
    for t in step_order(len(batch_sizes), reverse):
        b = batch_sizes[t]
        gates = torch.addmm(x_steps[t], h[:b], w_hh.t())  # (b, 4H)
        i, f, g, o = gates.chunk(4, 1)
        c_new = torch.sigmoid(f) * c[:b] + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        if w_hr is not None:
            h_new = h_new @ w_hr.t()  # (b, P)
        outs[t] = h_new
        h = h_new if b == full else torch.cat([h_new, h[b:]])
        c = c_new if b == full else torch.cat([c_new, c[b:]])
    return torch.cat(outs), h, c


def _forward_saving(
    xgates: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_hh: Tensor,
    w_hr: Tensor | None,
    batch_sizes: tuple[int, ...],
    reverse: bool,
) -> tuple[Tensor, ...]:
    """Step loop writing every activation into pre-allocated buffers kept for backward."""
    hid, full = c0.shape[1], batch_sizes[0]
    acts = torch.empty_like(xgates)  # (N, 4H) i, f, g, o after their nonlinearity
    cells = xgates.new_empty(xgates.shape[0], hid)  # (N, H) c_t
    tanh_cells = torch.empty_like(cells)  # (N, H) tanh(c_t)
    out = xgates.new_empty(xgates.shape[0], h0.shape[1])  # (N, P or H)
    unproj = torch.empty_like(cells) if w_hr is not None else out  # (N, H) o * tanh(c)
    steps = [
        buf.split(batch_sizes) for buf in (xgates, acts, cells, tanh_cells, out, unproj)
    ]
    x_s, a_s, c_s, tc_s, out_s, hu_s = steps
    h, c = h0, c0
    w_hh_t = w_hh.t()
    for t in step_order(len(batch_sizes), reverse):
        b = batch_sizes[t]
        a = a_s[t]
        gates = torch.addmm(x_s[t], h[:b], w_hh_t)  # (b, 4H)
        torch.sigmoid(gates, out=a)
        torch.tanh(gates[:, 2 * hid : 3 * hid], out=a[:, 2 * hid : 3 * hid])
        c_new = torch.mul(a[:, hid : 2 * hid], c[:b], out=c_s[t])
        c_new.addcmul_(a[:, :hid], a[:, 2 * hid : 3 * hid])
        torch.tanh(c_new, out=tc_s[t])
        h_new = torch.mul(a[:, 3 * hid :], tc_s[t], out=hu_s[t])
        if w_hr is not None:
            h_new = torch.mm(h_new, w_hr.t(), out=out_s[t])  # (b, P)
        h = h_new if b == full else torch.cat([h_new, h[b:]])
        c = c_new if b == full else torch.cat([c_new, c[b:]])
    return out, h.clone(), c.clone(), acts, cells, tanh_cells, unproj


def _backward_factors(
    acts: Tensor, cells: Tensor, tanh_cells: Tensor, c_prev: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Local derivatives of all steps at once, so the time loop only does 5 ops per step.

    Returns ``factors`` (N, 4, H) = [f, g*i', c_{t-1}*f', i*g'] (multiplied by dc_t),
    ``fo`` (N, H) = tanh(c_t) * o' (multiplied by dh_t) and ``fc`` = o * tanh'(c_t).
    """
    i, f, g, o = acts.chunk(4, 1)
    factors = torch.stack(
        [f, g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)], dim=1
    )  # (N, 4, H)
    fo = tanh_cells * o * (1 - o)
    fc = o * (1 - tanh_cells * tanh_cells)
    return factors, fo, fc


class LSTMRecurrence(torch.autograd.Function):
    """LSTM time loop with a backward through time written by hand.

    Backward walks the steps in reverse and only propagates ``dh``/``dc`` (5 small ops and one
    ``(b, 4H) @ (4H, P)`` product per step); the weight gradients are then one matmul over all
    steps, ``dW_hh = dgates^T @ h_prev`` (the per-step products torch's autograd does, batched).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        xgates: Tensor,
        h0: Tensor,
        c0: Tensor,
        w_hh: Tensor,
        w_hr: Tensor | None,
        batch_sizes: tuple[int, ...],
        reverse: bool,
    ) -> tuple[Tensor, Tensor, Tensor]:
        out, h_n, c_n, acts, cells, tanh_cells, unproj = _forward_saving(
            xgates, h0, c0, w_hh, w_hr, batch_sizes, reverse
        )
        ctx.save_for_backward(h0, c0, w_hh, w_hr, out, acts, cells, tanh_cells, unproj)
        ctx.batch_sizes, ctx.reverse = batch_sizes, reverse
        return out, h_n, c_n

    @staticmethod
    def backward(ctx: Any, d_out: Tensor, d_hn: Tensor, d_cn: Tensor) -> tuple[Any, ...]:
        h0, c0, w_hh, w_hr, out, acts, cells, tanh_cells, unproj = ctx.saved_tensors
        batch_sizes, reverse = ctx.batch_sizes, ctx.reverse
        hid, full, rows = c0.shape[1], batch_sizes[0], out.shape[0]
        prev = prev_index(batch_sizes, reverse, out.device)
        c_prev = torch.cat([c0, cells])[prev]  # (N, H) c_{t-1} of every row
        factors, fo, fc = _backward_factors(acts, cells, tanh_cells, c_prev)
        grads = out.new_empty(rows, 5, hid)  # (N, 5, H) [dc_{t-1}, di, df, dg, do]
        d_proj = torch.empty_like(out) if w_hr is not None else out
        g_s, f_s, fo_s, fc_s, do_s, dp_s = (
            buf.split(batch_sizes) for buf in (grads, factors, fo, fc, d_out, d_proj)
        )
        dh, dc = d_hn, d_cn
        for t in reversed(step_order(len(batch_sizes), reverse)):
            b = batch_sizes[t]
            dh_t = do_s[t] + dh[:b]  # (b, P)
            if w_hr is not None:
                dp_s[t].copy_(dh_t)
                dh_t = dh_t @ w_hr  # (b, H)
            dc_t = torch.addcmul(dc[:b], dh_t, fc_s[t])
            g = g_s[t]
            torch.mul(dc_t.unsqueeze(1), f_s[t], out=g[:, :4])
            torch.mul(dh_t, fo_s[t], out=g[:, 4])
            dh_new = torch.mm(g.view(b, 5 * hid)[:, hid:], w_hh)  # (b, P)
            dh = dh_new if b == full else torch.cat([dh_new, dh[b:]])
            dc = g[:, 0] if b == full else torch.cat([g[:, 0], dc[b:]])
        d_gates = grads.view(rows, 5 * hid)[:, hid:]  # (N, 4H)
        h_prev = torch.cat([h0, out])[prev]  # (N, P)
        d_w_hh = d_gates.t() @ h_prev
        d_w_hr = d_proj.t() @ unproj if w_hr is not None else None
        return d_gates, dh, dc.contiguous(), d_w_hh, d_w_hr, None, None
