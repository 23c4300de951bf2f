"""The cell registry and the sequence model (a recurrent backbone with a linear head).

Every recurrent module in the registry follows torch.nn's convention: ``module(x, hx)``
returns ``(output, h_n)``, or ``(output, (h_n, c_n))`` for LSTM-like cells. The LSTM's
``(h, c)`` pair is unpacked in exactly one place, :func:`last_hidden`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.config import fraction, option, positive_int
from rnnkit.errors import UserError, unknown

# cell name -> {backend -> "module:Class"}. Classic cells exist in both backends; the variants
# torch.nn lacks exist only in rnnkit's own cells (rnnkit/nn/).
CELLS: dict[str, dict[str, str]] = {
    "rnn": {"torch": "torch.nn:RNN", "rnnkit": "rnnkit.nn:RNN"},
    "lstm": {"torch": "torch.nn:LSTM", "rnnkit": "rnnkit.nn:LSTM"},
    "gru": {"torch": "torch.nn:GRU", "rnnkit": "rnnkit.nn:GRU"},
    "layernorm_lstm": {"rnnkit": "rnnkit.nn:LayerNormLSTM"},
    "layernorm_gru": {"rnnkit": "rnnkit.nn:LayerNormGRU"},
    "mingru": {"rnnkit": "rnnkit.nn:MinGRU"},
    "minlstm": {"rnnkit": "rnnkit.nn:MinLSTM"},
}
BACKENDS = ("auto", "torch", "rnnkit")
LSTM_LIKE = frozenset({"lstm", "layernorm_lstm"})


def resolve_backend(cell: str, backend: str = "auto") -> str:
    """The backend that builds ``cell``: 'auto' means torch.nn where it has the cell."""
    if cell not in CELLS:
        raise unknown("cell", cell, CELLS)
    if backend not in BACKENDS:
        raise unknown("backend", backend, BACKENDS)
    available = CELLS[cell]
    if backend == "auto":
        return "torch" if "torch" in available else "rnnkit"
    if backend not in available:
        raise UserError(f"cell '{cell}' exists only in the rnnkit backend; use --backend rnnkit")
    return backend


def cell_class(cell: str, backend: str = "auto") -> type[nn.Module]:
    """The recurrent module class registered for ``cell`` and ``backend``."""
    chosen = resolve_backend(cell, backend)  # validates both names first
    module_name, class_name = CELLS[cell][chosen].split(":")
    cls: type[nn.Module] = getattr(importlib.import_module(module_name), class_name)
    return cls


def make_recurrent(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
    backend: str = "auto",
) -> nn.Module:
    """A batch-first recurrent stack of ``cell`` (torch.nn's constructor convention)."""
    for name, value in (("input size", input_size), ("hidden size", hidden_size)):
        if value <= 0:
            raise UserError(f"{name} must be a positive integer, got {value}")
    if num_layers <= 0:
        raise UserError(f"number of layers must be a positive integer, got {num_layers}")
    if not 0.0 <= dropout < 1.0:
        raise UserError(f"dropout must be in [0, 1), got {dropout}")
    cls = cell_class(cell, backend)
    # torch.nn warns when dropout is set on a single layer (it only acts between layers).
    return cls(
        input_size,
        hidden_size,
        num_layers,
        batch_first=True,
        dropout=dropout if num_layers > 1 else 0.0,
        bidirectional=bidirectional,
    )


def last_hidden(state: Tensor | tuple[Tensor, Tensor], num_directions: int) -> Tensor:
    """The top layer's final hidden state, both directions concatenated.

    ``state`` is ``h_n`` of shape (layers * directions, batch, hidden) or an LSTM's
    ``(h_n, c_n)``. Returns (batch, directions * hidden). Using ``h_n`` rather than
    ``output[:, -1]`` matters for bidirectional models, whose backward direction has seen the
    whole sequence only at t=0, and for packed batches, where the last real step differs per row.
    """
    h_n = state[0] if isinstance(state, tuple) else state
    top = h_n[-num_directions:]  # (directions, batch, hidden)
    return top.transpose(0, 1).reshape(h_n.shape[1], -1)  # (batch, directions * hidden)


def cell_option(default: str) -> Any:
    """The ``cell`` option of a model config (``--cell``), declared once for every model."""
    return option(default, f"recurrent cell: {', '.join(CELLS)}")


def backend_option() -> Any:
    """The ``backend`` option of a model config (``--backend``), declared once."""
    return option(
        "auto",
        "torch: torch.nn's fused cells; rnnkit: rnnkit's own written-out cells; auto: torch.nn "
        "where it has the cell",
        choices=BACKENDS,
    )


@dataclass
class ModelConfig:
    """Everything needed to rebuild a :class:`SequenceModel` (saved in every checkpoint)."""

    cell: str = cell_option("lstm")
    backend: str = backend_option()
    input_size: int = 1  # features per time step (taken from the data)
    hidden_size: int = option(64, "units per recurrent layer", type=positive_int)
    num_layers: int = option(1, "stacked recurrent layers", flag="--layers", type=positive_int)
    dropout: float = option(0.0, "dropout between recurrent layers, as torch.nn", type=fraction)
    bidirectional: bool = option(False, "read sequences both ways (not for forecasting)")
    output_size: int = 1  # values predicted per sequence (taken from the task)


def recurrent_from(config: Any, input_size: int) -> nn.Module:
    """The recurrent stack a model config describes (any config with ``cell``, ``backend``,
    ``hidden_size``, ``num_layers``, ``dropout`` and optionally ``bidirectional``)."""
    return make_recurrent(
        config.cell,
        input_size,
        config.hidden_size,
        num_layers=config.num_layers,
        dropout=config.dropout,
        bidirectional=getattr(config, "bidirectional", False),
        backend=config.backend,
    )


class SequenceModel(nn.Module):
    """Many-to-one regression: a recurrent stack read at its last step, then a linear head.

    This is the tutorial's ``SimpleRNN`` with the cell chosen by name.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.num_directions = 2 if config.bidirectional else 1
        self.rnn = recurrent_from(config, config.input_size)
        self.head = nn.Linear(self.num_directions * config.hidden_size, config.output_size)

    def forward(self, x: Tensor) -> Tensor:
        """(batch, time, input_size) -> (batch, output_size)."""
        _, state = self.rnn(x)  # zero initial state, as nn.RNN's default
        return self.head(last_hidden(state, self.num_directions))  # (batch, output_size)


@torch.inference_mode()
def predict(model: SequenceModel, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Model outputs for all windows ``x`` (N, window, features) -> (N, outputs), in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat(
        [model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    )


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU; an unavailable device is a UserError."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device not in ("cpu", "cuda", "mps") and not device.startswith("cuda:"):
        raise unknown("device", device, ("auto", "cpu", "cuda", "mps"))
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but torch sees no CUDA GPU here")
    if device == "mps" and not torch.backends.mps.is_available():
        raise UserError("--device mps was asked for, but this torch has no MPS support here")
    return torch.device(device)
