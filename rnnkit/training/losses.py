"""Loss functions: ``loss_fn(model, batch) -> scalar`` runs the forward pass (as ``model(...)``, so
that DistributedDataParallel sees it) and the loss.

A stateful loss function (truncated BPTT carrying the hidden state across batches) may define
``start_epoch()``, called before every training pass and every evaluation pass, to reset it, and
``state_dict()``/``load_state_dict()`` to have that state checkpointed."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

Batch = tuple[Tensor, ...]
LossFn = Callable[[nn.Module, Batch], Tensor]


def regression_loss(model: nn.Module, batch: Batch) -> Tensor:
    """Mean squared error of ``model(x)`` against ``y`` (flattened to the model's output)."""
    x, y = batch
    prediction = model(x)  # (batch, outputs)
    return F.mse_loss(prediction, y.reshape(prediction.shape))


def classification_loss(model: nn.Module, batch: Batch) -> Tensor:
    """Cross-entropy of ``model(*inputs)`` logits (batch, classes) against class ids (batch,).

    The batch is ``(*inputs, y)``: ``(x, y)``, or ``(x, lengths, y)`` for a packed model.
    """
    *inputs, y = batch
    return F.cross_entropy(model(*inputs), y)
