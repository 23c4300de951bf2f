"""Sliding windows over a series as tensor views, chronological splits, and mini-batches.

A window of ``window`` past steps predicts the next ``horizon`` steps::

    t:   0 1 2 ... w-1 | w ... w+h-1
         [  input x   ] [ target y  ]      window i starts at t = i

``sliding_windows`` builds all of them with ``Tensor.unfold``: no Python loop over samples and
no copy of the series (the result shares its storage). Mini-batches gather rows from those views,
so only one batch at a time is ever materialised.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.data import Dataset

from rnnkit.errors import UserError


def sliding_windows(series: Tensor, window: int, horizon: int = 1) -> tuple[Tensor, Tensor]:
    """All (input, target) windows of a series, as views.

    ``series`` is (time,) or (time, features). Returns ``x`` of shape (N, window, features) and
    ``y`` of shape (N, horizon, features), N = time - window - horizon + 1; ``x[i]`` is
    ``series[i : i + window]`` and ``y[i]`` is ``series[i + window : i + window + horizon]``.
    """
    if window <= 0 or horizon <= 0:
        raise UserError(f"window and horizon must be positive, got {window} and {horizon}")
    if series.dim() == 1:
        series = series.unsqueeze(-1)  # (time, 1)
    if series.shape[0] < window + horizon:
        raise UserError(
            f"the series has {series.shape[0]} points, fewer than window + horizon = "
            f"{window} + {horizon}; use a shorter --window or a longer series"
        )
    frames = series.unfold(0, window + horizon, 1)  # (N, features, window + horizon), a view
    frames = frames.transpose(1, 2)  # (N, window + horizon, features), still a view
    return frames[:, :window], frames[:, window:]


@dataclass(frozen=True)
class Split:
    """Index ranges of a chronological train / validation / test split."""

    train: slice
    val: slice
    test: slice


def chronological_split(n: int, *, test: float | int = 0.2, val: float = 0.1) -> Split:
    """Split ``n`` time-ordered examples: the first part trains, the last ``test`` tests.

    ``test`` is a fraction of ``n`` (the tutorial's 80/20 uses ``int(0.8 * n)`` for training) or a
    count. The validation part is the last ``val`` fraction of the training part (for early
    stopping), so no example is ever drawn from the future of the one after it.
    """
    n_test = n - int((1 - test) * n) if isinstance(test, float) else int(test)
    n_trainval = n - n_test
    n_val = int(round(val * n_trainval))
    if n_test <= 0 or n_trainval - n_val <= 0 or (val > 0 and n_val == 0):
        raise UserError(f"{n} examples are too few to split into train, validation and test")
    cut = n_trainval - n_val
    return Split(train=slice(0, cut), val=slice(cut, n_trainval), test=slice(n_trainval, n))


def batch_positions(
    n: int, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None
) -> Iterator[Tensor]:
    """Positions 0..n-1 in batches, in order or shuffled."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, int(order.shape[0]), batch_size):
        yield order[start : start + batch_size]


class Examples(Dataset):
    """Aligned inputs and targets served in mini-batches.

    ``x`` and ``y`` may be views (e.g. from :func:`sliding_windows`); ``index`` selects which rows
    belong to this set without copying them. Batches are gathered row by row from the views.
    A contiguous run of rows (the whole set, or a chronological split of it) is kept as a slice,
    not as an index tensor, so that a 10-million-window set costs no 80 MB of int64 rows.
    """

    def __init__(self, x: Tensor, y: Tensor, index: Tensor | slice | None = None) -> None:
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
        self.x = x
        self.y = y
        self._rows: Tensor | slice = slice(0, int(x.shape[0])) if index is None else index

    @property
    def index(self) -> Tensor:
        """Rows of ``x`` and ``y`` in this set, in order (materialised when asked for)."""
        if isinstance(self._rows, slice):
            return torch.arange(self._rows.start, self._rows.stop)
        return self._rows

    def __len__(self) -> int:
        if isinstance(self._rows, slice):
            return int(self._rows.stop - self._rows.start)
        return int(self._rows.shape[0])

    def subset(self, rows: slice | Tensor) -> Examples:
        """The examples at ``rows`` of this set (positions, not original indices)."""
        if isinstance(self._rows, slice) and isinstance(rows, slice) and rows.step in (None, 1):
            start, stop, _ = rows.indices(len(self))
            offset = self._rows.start
            return Examples(self.x, self.y, slice(offset + start, offset + max(start, stop)))
        return Examples(self.x, self.y, self.index[rows])

    def _lookup(self, positions: Tensor) -> Tensor:
        """Rows of ``x`` and ``y`` at ``positions`` of this set."""
        if isinstance(self._rows, slice):
            return positions + self._rows.start
        return self._rows[positions]

    def tensors(self) -> tuple[Tensor, Tensor]:
        """All examples at once (materialised): (N, ...) inputs and targets."""
        return self.x[self.index], self.y[self.index]

    def iter_batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield ``(x, y)`` batches, in order or shuffled."""
        for positions in batch_positions(len(self), batch_size, shuffle, generator):
            yield self[positions]

    def __getitem__(self, positions: Tensor) -> tuple[Tensor, Tensor]:
        """The batch at ``positions`` (int64) of this set: (B, ...) inputs and targets.

        Batched indexing, as the fit loop's DataLoader asks for (its sampler yields positions).
        """
        rows = self._lookup(positions)
        return self.x[rows], self.y[rows]
