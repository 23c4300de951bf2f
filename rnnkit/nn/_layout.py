"""Time-major step layout shared by every rnnkit recurrent layer.

All layers work on a 2-D ``data`` tensor of shape ``(N, features)`` in the layout of
:class:`torch.nn.utils.rnn.PackedSequence`: the rows of time step ``t`` are
``data[offset_t : offset_t + batch_sizes[t]]`` and ``batch_sizes`` never increases.  A padded
``(T, B, F)`` tensor is the special case ``batch_sizes = (B,) * T``, so one code path serves
both padded and packed input, exactly like the ATen RNN kernels behind ``torch.nn.LSTM``.
"""

from __future__ import annotations

import functools
import itertools

import torch
from torch import Tensor


@functools.lru_cache(maxsize=64)
def _prev_index_cpu(batch_sizes: tuple[int, ...], reverse: bool) -> Tensor:
    sizes = torch.tensor(batch_sizes, dtype=torch.long)
    num_steps, batch = len(batch_sizes), batch_sizes[0]
    offsets = torch.cumsum(sizes, 0) - sizes  # (T,)
    step = torch.repeat_interleave(torch.arange(num_steps), sizes)  # (N,)
    row = torch.arange(int(sizes.sum())) - offsets[step]  # (N,) batch row inside the step
    if reverse:
        nxt = (step + 1).clamp(max=num_steps - 1)
        carried = (step + 1 < num_steps) & (row < sizes[nxt])
        return torch.where(carried, batch + offsets[nxt] + row, row)
    prv = (step - 1).clamp(min=0)
    return torch.where(step > 0, batch + offsets[prv] + row, row)


def prev_index(batch_sizes: tuple[int, ...], reverse: bool, device: torch.device) -> Tensor:
    """Index into ``cat([h0, outputs])`` giving, for every row, the state the step consumed.

    Rows whose sequence is handled for the first time (step 0, or for ``reverse`` the last
    valid step of a shorter sequence) read the initial state ``h0``.
    """
    return _prev_index_cpu(batch_sizes, reverse).to(device)


def step_offsets(batch_sizes: tuple[int, ...]) -> list[int]:
    """Row offset of every time step in the packed data."""
    return [0, *itertools.accumulate(batch_sizes)][:-1]


def step_order(num_steps: int, reverse: bool) -> range:
    """Processing order of the time steps for one direction."""
    return range(num_steps - 1, -1, -1) if reverse else range(num_steps)


def padded_index(batch_sizes: tuple[int, ...], device: torch.device) -> Tensor:
    """Flat ``t * B + b`` position in a ``(T, B)`` grid of every packed row."""
    return _padded_index_cpu(batch_sizes).to(device)


@functools.lru_cache(maxsize=64)
def _padded_index_cpu(batch_sizes: tuple[int, ...]) -> Tensor:
    batch = batch_sizes[0]
    return torch.cat([torch.arange(b) + t * batch for t, b in enumerate(batch_sizes)])


def lengths_of(batch_sizes: tuple[int, ...]) -> Tensor:
    """Length of every (sorted) sequence, shape ``(B,)``."""
    sizes = torch.tensor(batch_sizes, dtype=torch.long)
    return (sizes.unsqueeze(1) > torch.arange(batch_sizes[0]).unsqueeze(0)).sum(0)


CHUNK_ROWS = 1024  # rows per chunk of the fused kernels' big matmuls (tests make it small)


def step_chunks(batch_sizes: tuple[int, ...], reverse: bool) -> list[tuple[int, int, int, int]]:
    """Consecutive groups of time steps ``(first, last, row_lo, row_hi)`` in processing order.

    The fused kernels do their big matmuls (input projection, weight gradients) one chunk at
    a time: chunks of ~1024 rows keep buffers in cache and under the allocator's mmap
    threshold, so memory is recycled instead of page-faulted on every call.
    """
    offsets = [*step_offsets(batch_sizes), sum(batch_sizes)]
    num_steps = len(batch_sizes)
    steps = max(1, CHUNK_ROWS // batch_sizes[0])
    ends = [(t, min(t + steps, num_steps)) for t in range(0, num_steps, steps)]
    chunks = [(t0, t1, offsets[t0], offsets[t1]) for t0, t1 in ends]
    return chunks[::-1] if reverse else chunks
