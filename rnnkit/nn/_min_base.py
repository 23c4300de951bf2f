"""Shared layer logic of MinGRU and MinLSTM: input projection, padding, the two run modes.

The min-RNNs' gates depend only on ``x_t`` (no ``W_hh``), so a layer is one matmul for all
steps followed by a linear recurrence, evaluated either by the log-space parallel scan
(training) or step by step (streaming inference, one step at a time with a carried state).
"""

from __future__ import annotations

import abc

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn._base import RecurrentBase, State
from rnnkit.nn._layout import lengths_of, padded_index

MODES = ("auto", "parallel", "sequential")


class MinRecurrentBase(RecurrentBase):
    """Base of the min-RNNs: parameters ``weight_ih_l{k}`` / ``bias_ih_l{k}`` only."""

    _hidden_weights = False

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        mode: str = "auto",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode  # 'auto': parallel scan for T > 1, the sequential step for T == 1
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
            device=device,
            dtype=dtype,
        )

    @abc.abstractmethod
    def _parallel(self, proj: Tensor, h0: Tensor) -> Tensor:
        """All states from the projected input (T, B, k*H) with the log-space scan."""

    @abc.abstractmethod
    def _sequential(self, proj: Tensor, h0: Tensor) -> Tensor:
        """All states from the projected input (T, B, k*H), one step at a time."""

    def _run_direction(
        self, x: Tensor, state: State, layer: int, direction: int, batch_sizes: tuple[int, ...]
    ) -> tuple[Tensor, State]:
        w = self.weights(layer, direction)
        proj = F.linear(x, w["weight_ih"], w.get("bias_ih"))  # (N, k*H): all steps at once
        steps, batch = len(batch_sizes), batch_sizes[0]
        ragged = batch_sizes[-1] != batch
        if ragged:
            # Packed input: pad to (T, B, k*H).  Padding only ever follows a sequence's last
            # step, and every step depends only on earlier ones, so it cannot reach any valid
            # output; h_n is read at each sequence's own last step.
            pos = padded_index(batch_sizes, x.device)
            padded = proj.new_zeros(steps * batch, proj.shape[1]).index_copy(0, pos, proj)
            padded = padded.view(steps, batch, -1)
        else:
            padded = proj.view(steps, batch, -1)  # (T, B, k*H)
        lengths = lengths_of(batch_sizes).to(x.device)
        if direction == 1:
            padded = _reverse_within(padded, lengths)
        parallel = self.mode == "parallel" or (self.mode == "auto" and steps > 1)
        h = self._parallel(padded, state[0]) if parallel else self._sequential(padded, state[0])
        h_n = h[lengths - 1, torch.arange(batch, device=x.device)]  # (B, H)
        if direction == 1:
            h = _reverse_within(h, lengths)
        flat = h.reshape(steps * batch, -1)  # (T * B, H)
        return (flat.index_select(0, pos) if ragged else flat), (h_n,)


def _reverse_within(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse every sequence of a padded (T, B, F) tensor within its own length."""
    steps = x.shape[0]
    t = torch.arange(steps, device=x.device).unsqueeze(1)  # (T, 1)
    src = torch.where(t < lengths, lengths - 1 - t, t)  # (T, B)
    return x.gather(0, src.unsqueeze(2).expand_as(x))
