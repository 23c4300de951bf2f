"""Helpers for comparing rnnkit modules with their torch.nn counterparts (used by the tests).

The comparison follows PyTorch's own module tests: same parameters loaded into both modules,
the same inputs and initial states, then outputs, final states and the gradients of every
parameter, of the input and of ``hx`` must agree within a dtype-dependent tolerance.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def make_input(
    module: Any,
    steps: int,
    lengths: list[int] | None,
    *,
    dtype: torch.dtype,
    with_hx: bool,
) -> tuple[Tensor, Any]:
    """Random input (padded, batch_first as the module says) and optional random ``hx``."""
    batch = len(lengths) if lengths is not None else 3
    shape = (batch, steps) if module.batch_first else (steps, batch)
    x = torch.randn(*shape, module.input_size, dtype=dtype, requires_grad=True)
    if not with_hx:
        return x, None
    layers = module.num_layers * (2 if module.bidirectional else 1)
    proj = getattr(module, "proj_size", 0) or module.hidden_size
    h0 = torch.randn(layers, batch, proj, dtype=dtype, requires_grad=True)
    if isinstance(module, (nn.LSTM,)) or getattr(module, "_has_cell", False):
        c0 = torch.randn(layers, batch, module.hidden_size, dtype=dtype, requires_grad=True)
        return x, (h0, c0)
    return x, h0


def run_and_grad(
    module: Any, x: Tensor, hx: Any, lengths: list[int] | None, seed: int = 0
) -> list[Tensor]:
    """Outputs, final states and gradients (params, x, hx) of a random linear loss."""
    inp: Tensor | PackedSequence = x
    if lengths is not None:
        inp = pack_padded_sequence(
            x, torch.tensor(lengths), batch_first=module.batch_first, enforce_sorted=False
        )
    out, hidden = module(inp, hx)
    if isinstance(out, PackedSequence):
        out = out.data
    states = list(hidden) if isinstance(hidden, tuple) else [hidden]
    gen = torch.Generator().manual_seed(seed)
    loss = sum(
        (t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum() for t in [out, *states]
    )
    leaves = [
        *module.parameters(),
        x,
        *([] if hx is None else (hx if isinstance(hx, tuple) else [hx])),
    ]
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return [
        out,
        *states,
        *[g if g is not None else torch.zeros_like(p) for g, p in zip(grads, leaves, strict=True)],
    ]


def assert_same_as_torch(
    ref: nn.Module, mine: nn.Module, *, steps: int, lengths: list[int] | None, with_hx: bool
) -> None:
    """Load ``ref``'s weights into ``mine`` and compare results and all gradients."""
    dtype = next(ref.parameters()).dtype
    mine.load_state_dict(ref.state_dict())
    x, hx = make_input(ref, steps, lengths, dtype=dtype, with_hx=with_hx)
    expected = run_and_grad(ref, x, hx, lengths)
    actual = run_and_grad(mine, x, hx, lengths)
    tol = TOLERANCE[dtype]
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        try:
            torch.testing.assert_close(a, e, atol=tol, rtol=tol)
        except AssertionError as err:  # say which output / state / gradient differs
            raise AssertionError(
                f"result {i} (0 = output, then states, then grads): {err}"
            ) from None
