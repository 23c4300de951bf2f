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

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from rnnkit.nn._layout import prev_index, step_chunks, step_order


def _sigmoid_tanh(u: Tensor) -> Tensor:
    """tanh(u) as 2 * sigmoid(2u) - 1: on this CPU build torch.tanh is several times slower."""
    return torch.mul(u, 2).sigmoid_().mul_(2).sub_(1)


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
        c_new = torch.sigmoid(f) * c[:b] + torch.sigmoid(i) * _sigmoid_tanh(g)
        h_new = torch.sigmoid(o) * _sigmoid_tanh(c_new)
        if w_hr is not None:
            h_new = h_new @ w_hr.t()  # (b, P)
        outs[t] = h_new
        h = h_new if b == full else torch.cat([h_new, h[b:]])
        c = c_new if b == full else torch.cat([c_new, c[b:]])
    return torch.cat(outs), h, c


def _forward_saving(
    x: Tensor,
    w_ih: Tensor,
    bias: Tensor | None,
    state: tuple[Tensor, Tensor],
    w_hh: Tensor,
    w_hr: Tensor | None,
    batch_sizes: tuple[int, ...],
    reverse: bool,
) -> tuple[Tensor, Tensor, Tensor, list[Tensor], Tensor]:
    """Step loop that also keeps, per step, the local derivatives backward needs.

    ``factors[t]`` (b, 6, H) = [f, g*i', c_{t-1}*f', i*tanh'(g), tanh(c)*o', o*tanh'(c)] with
    ``s' = s(1 - s)``, computed while the step's activations are still in cache.  The input
    projection is done one chunk of steps at a time (one matmul per chunk), which keeps every
    buffer small enough for the allocator to recycle instead of page-faulting fresh memory.
    """
    (h0, c0), hid, full = state, state[1].shape[1], batch_sizes[0]
    # tanh(g) is evaluated as 2 * sigmoid(2g) - 1 with one sigmoid for all 4 gates, so the g
    # rows of W_hh and of the input projection are doubled.
    w_hh2 = w_hh.clone()
    w_hh2[2 * hid : 3 * hid] *= 2
    factors: list[Tensor] = []
    out = x.new_empty(x.shape[0], h0.shape[1])  # (N, P or H)
    unproj = x.new_empty(x.shape[0], hid) if w_hr is not None else out  # (N, H)
    out_s, hu_s = out.split(batch_sizes), unproj.split(batch_sizes)
    h, c = h0, c0
    for first, last, lo, hi in step_chunks(batch_sizes, reverse):
        xg = x[lo:hi] @ w_ih.t() if bias is None else torch.addmm(bias, x[lo:hi], w_ih.t())
        xg[:, 2 * hid : 3 * hid] *= 2  # (rows, 4H) input projection of the chunk
        x_s = xg.split(batch_sizes[first:last])
        for t in step_order(last - first, reverse):
            b, fac = batch_sizes[first + t], x.new_empty(batch_sizes[first + t], 6, hid)
            a = torch.addmm(x_s[t], h[:b], w_hh2.t()).sigmoid_()  # (b, 4H) i, f, σ(2g), o
            i, f, s_g, o = a.chunk(4, 1)
            g = s_g.mul(2).sub_(1)
            i_g = i * g
            c_new = torch.addcmul(i_g, f, c[:b])  # c_t = f * c_{t-1} + i * g
            tanh_c = _sigmoid_tanh(c_new)
            h_new = torch.mul(o, tanh_c, out=hu_s[first + t])
            slope = torch.addcmul(a, a, a, value=-1)  # (b, 4H) s * (1 - s)
            fac[:, 0].copy_(f)
            torch.mul(g, slope[:, :hid], out=fac[:, 1])
            torch.mul(c[:b], slope[:, hid : 2 * hid], out=fac[:, 2])
            torch.addcmul(i, i_g, g, value=-1, out=fac[:, 3])
            torch.mul(tanh_c, slope[:, 3 * hid :], out=fac[:, 4])
            torch.addcmul(o, h_new, tanh_c, value=-1, out=fac[:, 5])
            factors.append(fac)
            if w_hr is not None:
                h_new = torch.mm(h_new, w_hr.t(), out=out_s[first + t])  # (b, P)
            h = h_new if b == full else torch.cat([h_new, h[b:]])
            c = c_new if b == full else torch.cat([c_new, c[b:]])
    return out, h.clone(), c.clone(), factors, unproj


class LSTMRecurrence(torch.autograd.Function):
    """LSTM layer (input projection + time loop) with a backward through time written by hand.

    Backward walks the steps in reverse and only propagates ``dh``/``dc`` (4 small ops and one
    ``(b, 4H) @ (4H, P)`` product per step, using the derivative factors stored by forward);
    the weight and input gradients are then single matmuls over all steps,
    ``dW_hh = dgates^T @ h_prev``, ``dW_ih = dgates^T @ x``, ``dx = dgates @ W_ih`` (the
    per-step products torch's autograd would do, batched).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: Tensor,
        w_ih: Tensor,
        bias: Tensor | None,
        h0: Tensor,
        c0: Tensor,
        w_hh: Tensor,
        w_hr: Tensor | None,
        batch_sizes: tuple[int, ...],
        reverse: bool,
    ) -> tuple[Tensor, Tensor, Tensor]:
        out, h_n, c_n, factors, unproj = _forward_saving(
            x, w_ih, bias, (h0, c0), w_hh, w_hr, batch_sizes, reverse
        )
        ctx.save_for_backward(x, w_ih, h0, w_hh, w_hr, out, unproj)
        ctx.factors = factors  # per step, in processing order
        ctx.batch_sizes, ctx.reverse, ctx.has_bias = batch_sizes, reverse, bias is not None
        return out, h_n, c_n

    @staticmethod
    def backward(ctx: Any, d_out: Tensor, d_hn: Tensor, d_cn: Tensor) -> tuple[Any, ...]:
        x, w_ih, h0, w_hh, w_hr, out, unproj = ctx.saved_tensors
        batch_sizes, reverse, factors = ctx.batch_sizes, ctx.reverse, ctx.factors
        hid = w_hh.shape[0] // 4
        h_all = torch.cat([h0, out])  # (B + N, P): h_prev of row r is h_all[prev[r]]
        prev = prev_index(batch_sizes, reverse, out.device)
        d_x = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        d_w = [torch.zeros_like(w_ih), torch.zeros_like(w_hh)]
        d_bias = w_hh.new_zeros(4 * hid) if ctx.has_bias else None
        d_proj = torch.empty_like(out) if w_hr is not None else out
        state = (d_hn, d_cn)
        steps = iter(reversed(factors))
        for first, last, lo, hi in reversed(step_chunks(batch_sizes, reverse)):
            grads = out.new_empty(hi - lo, 5, hid)  # (rows, 5, H) [dc_{t-1}, di, df, dg, do]
            spans = (grads, d_out[lo:hi], d_proj[lo:hi])
            state = _backward_chunk(
                spans, steps, state, w_hh, w_hr, batch_sizes[first:last], reverse
            )
            d_gates = grads.view(hi - lo, 5 * hid)[:, hid:]  # (rows, 4H) pre-activation grads
            d_w[0].addmm_(d_gates.t(), x[lo:hi])
            d_w[1].addmm_(d_gates.t(), h_all[prev[lo:hi]])
            if d_bias is not None:
                d_bias += d_gates.sum(0)
            if d_x is not None:
                torch.mm(d_gates, w_ih, out=d_x[lo:hi])
        d_w_hr = d_proj.t() @ unproj if w_hr is not None else None
        dh, dc = state
        return d_x, d_w[0], d_bias, dh, dc.contiguous(), d_w[1], d_w_hr, None, None


def _backward_chunk(
    spans: tuple[Tensor, Tensor, Tensor],
    factors: Iterator[Tensor],
    state: tuple[Tensor, Tensor],
    w_hh: Tensor,
    w_hr: Tensor | None,
    batch_sizes: tuple[int, ...],
    reverse: bool,
) -> tuple[Tensor, Tensor]:
    """Reverse time loop over one chunk of steps: propagates (dh, dc), fills ``grads``."""
    hid, full = w_hh.shape[0] // 4, state[0].shape[0]
    g_s, do_s, dp_s = (buf.split(batch_sizes) for buf in spans)
    dh, dc = state
    for t in reversed(step_order(len(batch_sizes), reverse)):
        b, fac, g = batch_sizes[t], next(factors), g_s[t]
        dh_t = do_s[t] + dh[:b]  # (b, P)
        if w_hr is not None:
            dp_s[t].copy_(dh_t)
            dh_t = dh_t @ w_hr  # (b, H)
        dc_t = torch.addcmul(dc[:b], dh_t, fac[:, 5])
        torch.mul(dc_t.unsqueeze(1), fac[:, :4], out=g[:, :4])
        torch.mul(dh_t, fac[:, 4], out=g[:, 4])
        dh_new = torch.mm(g.view(b, 5 * hid)[:, hid:], w_hh)  # (b, P)
        dh = dh_new if b == full else torch.cat([dh_new, dh[b:]])
        dc = g[:, 0] if b == full else torch.cat([g[:, 0], dc[b:]])
    return dh, dc
