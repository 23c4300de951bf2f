"""Plumbing shared by all rnnkit recurrent modules (mirrors ``torch.nn.RNNBase``).

Each module only implements :meth:`RecurrentBase._run_direction`, the recurrence of one layer
in one direction on packed-layout data (see :mod:`rnnkit.nn._layout`).  This base class does
what ``torch.nn.RNNBase.forward`` does around ``_VF.lstm``: argument checks with torch's
exception types, unbatched / ``batch_first`` / :class:`PackedSequence` input, zero default
states, the layer stack with dropout between layers, and re-assembling ``output`` and ``h_n``.
"""

from __future__ import annotations

import abc
import math
import numbers
import warnings
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

State = tuple[Tensor, ...]


class RecurrentBase(nn.Module, metaclass=abc.ABCMeta):
    """Stack of (bi)directional recurrent layers with ``torch.nn.RNNBase``'s interface."""

    _mode: ClassVar[str] = "RNN"  # name used in error messages, like torch.nn
    _gate_count: ClassVar[int] = 1  # rows of weight_ih per hidden unit
    _hidden_weights: ClassVar[bool] = True  # False for the min-cells (no W_hh)
    _has_cell: ClassVar[bool] = False  # True for LSTM-like modules returning (h_n, c_n)
    _supports_proj: ClassVar[bool] = False  # only torch.nn.LSTM has proj_size

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if proj_size and not self._supports_proj:  # torch.nn.RNNBase's own message
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        _check_options(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        self._register_weights(torch.empty(0, device=device, dtype=dtype))
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Size of ``h_t`` (``proj_size`` when projecting, like torch.nn.LSTM)."""
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    def _register_weights(self, like: Tensor) -> None:
        # Same names, shapes and registration order as torch.nn.RNNBase._flat_weights_names.
        gates, hid, out = self._gate_count * self.hidden_size, self.hidden_size, self.output_size
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else out * self.num_directions
            for suffix in ("", "_reverse")[: self.num_directions]:
                shapes: dict[str, tuple[int, ...]] = {"weight_ih": (gates, in_size)}
                if self._hidden_weights:
                    shapes["weight_hh"] = (gates, out)
                if self.bias:
                    shapes["bias_ih"] = (gates,)
                    if self._hidden_weights:
                        shapes["bias_hh"] = (gates,)
                if self.proj_size > 0:
                    shapes["weight_hr"] = (self.proj_size, hid)
                shapes.update(self._extra_parameter_shapes())
                self._weight_names = tuple(shapes)
                for name, shape in shapes.items():
                    param = nn.Parameter(like.new_empty(shape))
                    self.register_parameter(f"{name}_l{layer}{suffix}", param)

    def _extra_parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Per layer/direction parameters beyond torch.nn's (e.g. layer-norm gains)."""
        return {}

    def reset_parameters(self) -> None:
        """uniform(-1/sqrt(H), 1/sqrt(H)) for every parameter, as torch.nn.RNNBase does."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """No-op, for drop-in compatibility with torch.nn (weights are never flattened)."""

    def weights(self, layer: int, direction: int) -> dict[str, Tensor]:
        """Parameters of one layer/direction keyed by name without the ``_l0_reverse`` suffix."""
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        return {name: getattr(self, name + suffix) for name in self._weight_names}

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s + (", bidirectional=True" if self.bidirectional else "")

    def _use_autograd_function(self, *tensors: Tensor) -> bool:
        """Whether to run the custom autograd.Function (training) or the plain loop.

        The plain loop is used without autograd and while tracing (torch.jit.trace / ONNX
        export record plain tensor ops, not Python autograd Functions).
        """
        if not torch.is_grad_enabled() or torch.jit.is_tracing():
            return False
        return any(t.requires_grad for t in tensors) or any(
            p.requires_grad for p in self.parameters()
        )

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.output_size, self.hidden_size) if self._has_cell else (self.hidden_size,)

    @abc.abstractmethod
    def _run_direction(
        self, x: Tensor, state: State, layer: int, direction: int, batch_sizes: tuple[int, ...]
    ) -> tuple[Tensor, State]:
        """Run one layer in one direction: ``x`` (N, F) packed layout -> (N, out), final state."""

    def forward(self, input: Tensor | PackedSequence, hx: Any = None) -> tuple[Any, Any]:
        data, batch_sizes, unbatch, packed = self._flatten_input(input, hx)
        states = self._initial_states(data, batch_sizes, hx, input, unbatch)
        finals: list[State] = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                out, final = self._run_direction(data, states[k], layer, direction, batch_sizes)
                outs.append(out)
                finals.append(final)
            data = outs[0] if len(outs) == 1 else torch.cat(outs, 1)  # (N, D * out)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                data = F.dropout(data, self.dropout, training=True)  # between layers only
        stacked = [torch.stack([f[i] for f in finals]) for i in range(len(finals[0]))]
        if isinstance(input, PackedSequence):
            if input.unsorted_indices is not None:
                stacked = [s.index_select(1, input.unsorted_indices) for s in stacked]
            output: Any = PackedSequence(
                data, input.batch_sizes, input.sorted_indices, input.unsorted_indices
            )
        else:
            output = data.view(len(batch_sizes), batch_sizes[0], -1)  # (T, B, D * out)
            if self.batch_first:
                output = output.transpose(0, 1)  # (B, T, D * out)
            if unbatch:
                output = output.squeeze(1 if not self.batch_first else 0)
                stacked = [s.squeeze(1) for s in stacked]
        hidden = tuple(stacked) if self._has_cell else stacked[0]
        return output, hidden

    def _flatten_input(
        self, input: Tensor | PackedSequence, hx: Any
    ) -> tuple[Tensor, tuple[int, ...], bool, bool]:
        if isinstance(input, PackedSequence):
            data = input.data
            if data.dim() != 2:
                raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
            self._check_features(data)
            return data, tuple(int(b) for b in input.batch_sizes.tolist()), False, True
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{self._mode}: Expected input to be 2D or 3D, got {input.dim()}D tensor instead"
            )
        unbatch = input.dim() == 2
        _check_hx_dims(hx, 2 if unbatch else 3, self._has_cell)
        x = input.unsqueeze(0 if self.batch_first else 1) if unbatch else input
        if self.batch_first:
            x = x.transpose(0, 1)  # (T, B, F)
        self._check_features(x)
        steps, batch = x.shape[0], x.shape[1]
        return x.reshape(steps * batch, x.shape[2]), (batch,) * steps, unbatch, False

    def _check_features(self, x: Tensor) -> None:
        weight = next(iter(self.parameters()))
        if x.dtype != weight.dtype and not torch.is_autocast_enabled():
            raise ValueError(
                f"RNN input dtype ({x.dtype}) does not match weight dtype ({weight.dtype})"
            )
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. "
                f"Expected {self.input_size}, got {x.shape[-1]}"
            )

    def _initial_states(
        self,
        data: Tensor,
        batch_sizes: tuple[int, ...],
        hx: Any,
        input: Tensor | PackedSequence,
        unbatch: bool,
    ) -> list[State]:
        layers, batch = self.num_layers * self.num_directions, batch_sizes[0]
        sizes = self._state_sizes()
        if hx is None:
            zeros = [data.new_zeros(layers, batch, size) for size in sizes]
        else:
            given = list(hx) if self._has_cell else [hx]
            if unbatch:
                given = [h.unsqueeze(1) for h in given]
            for i, (h, size) in enumerate(zip(given, sizes, strict=True)):
                expected = (layers, batch, size)
                if tuple(h.shape) != expected:
                    which = f"hidden[{i}] " if self._has_cell else "hidden "
                    raise RuntimeError(f"Expected {which}size {expected}, got {list(h.shape)}")
            if isinstance(input, PackedSequence) and input.sorted_indices is not None:
                given = [h.index_select(1, input.sorted_indices) for h in given]
            zeros = given
        return [tuple(s[k] for s in zeros) for k in range(layers)]


def _check_hx_dims(hx: Any, dims: int, has_cell: bool) -> None:
    """torch.nn's checks that hx matches batched (3-D) or unbatched (2-D) input."""
    if hx is None:
        return
    kind = "unbatched 2-D" if dims == 2 else "batched 3-D"
    if has_cell:
        if hx[0].dim() != dims or hx[1].dim() != dims:
            raise RuntimeError(
                f"For {kind} input, hx and cx should also be {dims}-D but got "
                f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
            )
    elif hx.dim() != dims:
        raise RuntimeError(
            f"For {kind} input, hx should also be {dims}-D but got {hx.dim()}-D tensor"
        )


def _check_options(
    input_size: int,
    hidden_size: int,
    num_layers: int,
    bias: bool,
    batch_first: bool,
    dropout: float,
    proj_size: int,
) -> None:
    """The constructor checks of torch.nn.RNNBase, with the same exception types."""
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool):
        raise ValueError("dropout should be a number in range [0, 1]")
    if not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1]")
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero "
            f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
            f"num_layers={num_layers}",
            stacklevel=3,
        )
    for name, flag in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} should be of type bool, got: {type(flag).__name__}")
    for name, size in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(size, int):
            raise TypeError(f"{name} should be of type int, got: {type(size).__name__}")
        if size <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")
