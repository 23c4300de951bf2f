"""Training windows over many series at once, as views that never cross a series boundary.

All series are concatenated into one (time, F) tensor. ``Tensor.unfold`` turns it into a view of
every frame of ``window + horizon`` consecutive rows; a tensor of *valid start rows* keeps only
the frames that lie inside one series' training part. A batch gathers its frames from the view,
so only one batch of windows is ever materialised::

    series 0                 | series 1
    rows  o0 ... o0+n0-1     | o1 ...
          [ w  |  h ]        frames starting at o0 .. o0 + n0 - (w + h) are valid;
                 [ w  |  h ] a frame starting later would run into series 1: excluded
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from rnnkit.data.windows import batch_positions
from rnnkit.errors import UserError


def valid_starts(offsets: np.ndarray, lengths: np.ndarray, frame: int) -> np.ndarray:
    """Start rows of every ``frame``-row span inside the first ``lengths[i]`` rows of series i.

    Returns (n_windows,) int64, grouped by series and increasing within each series.
    """
    counts = np.maximum(np.asarray(lengths, dtype=np.int64) - frame + 1, 0)  # (series,)
    firsts = np.asarray(offsets[:-1], dtype=np.int64)
    # row = series start + position within that series' run of windows
    ends = np.cumsum(counts)
    position = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - counts, counts)
    return np.repeat(firsts, counts) + position


def split_validation(
    starts: np.ndarray, series_of_start: np.ndarray, fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per series, the last ``fraction`` of its windows (at least one when any) validate.

    Returns boolean masks (train, val) over ``starts``. With ``fraction`` 0 nothing validates.
    """
    if fraction <= 0 or len(starts) == 0:
        return np.ones(len(starts), bool), np.zeros(len(starts), bool)
    counts = np.bincount(series_of_start, minlength=int(series_of_start.max()) + 1)
    n_val = np.where(counts >= 4, np.maximum(1, np.round(counts * fraction)), 0).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(len(starts)) - first[series_of_start]  # index within its series
    val = position >= (counts - n_val)[series_of_start]
    return ~val, val


class SeriesWindows(Dataset):
    """(x, y, loc, scale) batches of raw windows from all series, gathered from one view.

    ``values`` (time, F) holds every series concatenated; ``starts`` the valid frame start rows;
    ``series`` the series of each start; ``loc``/``scale`` (series, F) the per-series scaling.
    """

    def __init__(
        self,
        values: Tensor,
        starts: Tensor,
        series: Tensor,
        loc: Tensor,
        scale: Tensor,
        *,
        window: int,
        horizon: int,
    ) -> None:
        if values.shape[0] < window + horizon:
            raise UserError(
                f"the data has {values.shape[0]} rows, fewer than window + horizon = "
                f"{window + horizon}"
            )
        self.frames = values.unfold(0, window + horizon, 1)  # (rows, F, w + h): a view
        self.starts, self.series = starts, series
        self.loc, self.scale = loc, scale
        self.window = window

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def batch(self, rows: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The examples at positions ``rows``: (B, W, F), (B, H, F), (B, F), (B, F)."""
        frames = self.frames[self.starts[rows]].transpose(1, 2)  # (B, w + h, F): a copy
        sid = self.series[rows]
        return frames[:, : self.window], frames[:, self.window :], self.loc[sid], self.scale[sid]

    def iter_batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> Iterator[tuple[Tensor, ...]]:
        """Yield batches in order or shuffled."""
        for positions in batch_positions(len(self), batch_size, shuffle, generator):
            yield self.batch(positions)

    def __getitem__(self, positions: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The batch at ``positions`` (batched indexing, as the fit loop's DataLoader asks)."""
        return self.batch(positions)


def window_sets(
    values: np.ndarray,
    starts: np.ndarray,
    owner: np.ndarray,
    loc: np.ndarray,
    scale: np.ndarray,
    *,
    window: int,
    horizon: int,
    device: torch.device,
) -> Callable[[np.ndarray], SeriesWindows]:
    """``mask -> SeriesWindows`` of the ``starts`` (of series ``owner``) a boolean mask picks,
    over the same ``values`` and per-series scaling, moved to ``device`` once."""
    data = torch.as_tensor(values, device=device)  # (time, F)
    loc_t, scale_t = torch.as_tensor(loc, device=device), torch.as_tensor(scale, device=device)

    def windows(mask: np.ndarray) -> SeriesWindows:
        rows = torch.as_tensor(starts[mask], device=device)
        sid = torch.as_tensor(owner[mask], device=device)
        return SeriesWindows(data, rows, sid, loc_t, scale_t, window=window, horizon=horizon)

    return windows
