"""The tutorial's series: ``sin(torch.linspace(0, 100, 1000))``."""

from __future__ import annotations

import torch
from torch import Tensor


def sine_wave(num_samples: int = 1000, *, start: float = 0.0, stop: float = 100.0) -> Tensor:
    """``num_samples`` evenly spaced points of sin(x), x in [start, stop]; (num_samples,)."""
    x = torch.linspace(start, stop, num_samples)  # (num_samples,)
    return torch.sin(x)
