"""The tutorial's series, ``sin(torch.linspace(0, 100, 1000))``, and its windows and split."""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.data.windows import Examples, chronological_split, sliding_windows


def sine_wave(num_samples: int = 1000, *, start: float = 0.0, stop: float = 100.0) -> Tensor:
    """``num_samples`` evenly spaced points of sin(x), x in [start, stop]; (num_samples,)."""
    x = torch.linspace(start, stop, num_samples)  # (num_samples,)
    return torch.sin(x)


def sine_windows(
    num_samples: int = 1000, window: int = 10, *, test: float = 0.2, val: float = 0.1
) -> tuple[Examples, Examples, Examples]:
    """Train, validation and test windows of the tutorial's sine, in time order.

    Windows of ``window`` values predict the next one; the last ``test`` fraction of windows
    tests (the tutorial's 80/20), the last ``val`` fraction of the rest validates.
    """
    x, y = sliding_windows(sine_wave(num_samples), window)  # (N, window, 1), (N, 1, 1): views
    examples = Examples(x, y.reshape(-1, 1))  # targets (N, 1)
    split = chronological_split(len(examples), test=test, val=val)
    return examples.subset(split.train), examples.subset(split.val), examples.subset(split.test)
