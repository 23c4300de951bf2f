"""What `rnnkit compare` measures besides the metric: the size for a parameter budget, memory.

Memory on the CPU: the allocator keeps no peak counter (and ``tracemalloc`` does not see torch's
allocations), so training memory is taken as the bytes of every tensor autograd saves for the
backward pass of one training batch (the activations, each storage counted once, the weights
left out) plus four times the parameter bytes (weights, gradients, Adam's two moments).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor, nn

from rnnkit.models import ModelConfig, SequenceModel, count_parameters
from rnnkit.training import Batch, LossFn


def hidden_for_budget(model: ModelConfig, budget: int) -> int:
    """The hidden size that brings ``model``'s parameter count closest to ``budget`` (ties: the
    smaller size).

    A one-or-more-layer recurrent model with a linear head has a parameter count quadratic in
    the hidden size, so three small models fix the curve; neighbours of its root are then built
    and counted exactly.
    """

    def params(hidden: int) -> int:
        return count_parameters(SequenceModel(replace(model, hidden_size=hidden)))

    p1, p2, p3 = params(1), params(2), params(3)
    a = (p3 - 2 * p2 + p1) / 2
    b = p2 - p1 - 3 * a
    c = p1 - a - b
    discriminant = max(0.0, b * b - 4 * a * (c - budget))  # below p(1): no real root, use 1
    root = (-b + discriminant**0.5) / (2 * a) if a else (budget - c) / b
    guess = max(1, int(root))
    candidates = range(max(1, guess - 1), guess + 3)
    return min(candidates, key=lambda h: (abs(params(h) - budget), h))


def memory_bytes(model: nn.Module, loss_fn: LossFn, batch: Batch, device: torch.device) -> int:
    """CPU estimate of training memory: saved activations of one batch + 4x the parameters."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:  # weights are counted below, once
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss_fn(model, tuple(t.to(device) for t in batch))
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return sum(saved.values()) + 4 * weights  # weights, gradients, two Adam moments
