"""The time axis of a series table: order, a regular grid, frequency, season (parsing: timecol).

Used by :func:`rnnkit.data.validate.prepare_series`. Times are dates (any format pandas parses,
timezone-aware too) or whole numbers (ordinal steps). Within each series they must increase by
one regular step; the step of dates is a pandas offset (inferred with ``pd.infer_freq`` or given
as ``--freq``), shared by all series.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data.freq import describe_step, infer_offset, parse_freq
from rnnkit.data.timecol import parse_time
from rnnkit.errors import UserError

__all__ = ["Layout", "fmt_time", "time_indexes"]


@dataclass(frozen=True)
class Layout:
    """Where each series' rows are: series are concatenated in id order, rows kept in order."""

    source: str  # the file name, for messages
    ids: list[str]
    offsets: np.ndarray  # (n_series + 1,) int64
    rows: np.ndarray | None  # (total,) frame row of each concatenated position; None: identity
    id_col: str | None

    def take(self, values: Any) -> Any:
        """``values`` (in frame order) rearranged into series order."""
        return values if self.rows is None else values[self.rows]

    def row(self, position: int) -> int:
        """The 1-based frame row at a concatenated position."""
        return int(position if self.rows is None else self.rows[position]) + 1

    def series_of(self, position: int) -> int:
        return int(np.searchsorted(self.offsets, position, side="right")) - 1

    def where(self, i: int) -> str:
        return f" in series '{self.ids[i]}'" if self.id_col is not None else ""

    def within(self) -> np.ndarray:
        """(total - 1,) whether positions p and p + 1 belong to the same series."""
        same = np.ones(max(int(self.offsets[-1]) - 1, 0), dtype=bool)
        same[self.offsets[1:-1] - 1] = False
        return same


def fmt_time(stamp: object) -> str:
    """A time for messages: the date alone when it is midnight without a timezone."""
    if isinstance(stamp, pd.Timestamp):
        if stamp.tz is None and stamp == stamp.normalize():
            return str(stamp.date())
        return stamp.isoformat(sep=" ")
    return str(stamp)


def off_grid(stamps: pd.DatetimeIndex, step: Any, within: np.ndarray) -> int | None:
    """The first position p (with p, p + 1 in one series) where the next time is not p + step."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        expected = stamps[:-1] + step  # (total - 1,)
    bad = np.flatnonzero(within & np.asarray(expected != stamps[1:]))
    return int(bad[0]) if bad.size else None


def first_gap(stamps: pd.DatetimeIndex) -> tuple[int | None, str]:
    """Where a series without an inferable frequency first breaks (p: p + 1 does not follow p),
    and the step it breaks: the frequency of its longest regular head (or tail), or else its
    typical difference, the one with most differences within 25% of it (so that months of 28 to
    31 days count as one step)."""
    n = len(stamps)
    for part in (lambda k: stamps[:k], lambda k: stamps[n - k :]):
        if infer_offset(part(3)) is None:
            continue
        lo, hi = 3, n  # binary search: the longest regular head (tail) has lo times
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if infer_offset(part(mid)) is not None else (lo, mid - 1)
        offset = infer_offset(part(lo))
        return off_grid(stamps, offset, np.ones(n - 1, dtype=bool)), describe_step(offset)
    diffs = np.diff(stamps.asi8)  # (n - 1,)
    ordered = np.sort(diffs)
    values = np.unique(diffs)
    near = np.searchsorted(ordered, values * 1.25, "right") - np.searchsorted(
        ordered, values / 1.25
    )
    step = int(values[np.argmax(near)])  # ties: the smallest, as a missing row doubles a step
    bad = np.flatnonzero(np.abs(diffs - step) > 0.25 * step)
    about = "about " + describe_step(pd.Timedelta(step, unit=stamps.unit))
    return (int(bad[0]) if bad.size else None), about


def irregular(
    stamps: Any, p: int, step: str, layout: Layout, time_col: str, hint: str = ""
) -> UserError:
    i = layout.series_of(p)
    return UserError(
        f"{layout.source}: the times in column '{time_col}' are not regular{layout.where(i)}: "
        f"{fmt_time(stamps[p + 1])} follows {fmt_time(stamps[p])} (row {layout.row(p + 1)}), but "
        f"the step is {step}; add the missing times (their empty values can be filled with "
        f"--fill) or remove the extra ones{hint}"
    )


def check_order(
    keys: np.ndarray, layout: Layout, time_col: str, label: Callable[[int], str]
) -> None:
    """Times must increase within each series: a step back or a repeat raises."""
    within = layout.within()
    step = np.diff(keys)  # (total - 1,)
    back = np.flatnonzero(within & (step < 0))
    if back.size:
        p = int(back[0])
        raise UserError(
            f"{layout.source}: time column '{time_col}' is not sorted"
            f"{layout.where(layout.series_of(p))}: {label(p + 1)} (row {layout.row(p + 1)}) "
            f"comes after {label(p)} (row {layout.row(p)}); sort the file by time"
        )
    repeat = np.flatnonzero(within & (step == 0))
    if repeat.size:
        p = int(repeat[0])
        raise UserError(
            f"{layout.source}: time {label(p)} appears twice in column '{time_col}'"
            f"{layout.where(layout.series_of(p))}: rows {layout.row(p)} and "
            f"{layout.row(p + 1)}; keep one row per time"
        )


def time_indexes(
    column: pd.Series | None, layout: Layout, freq: str | None
) -> tuple[list[pd.Index], str | None]:
    """One index per series (DatetimeIndex with freq, or RangeIndex) and the shared alias."""
    source = layout.source
    if column is None:
        if freq is not None:
            raise UserError(f"{source}: --freq needs a time column; name it with --time-col")
        return [pd.RangeIndex(int(n)) for n in np.diff(layout.offsets)], None
    time_col = str(column.name)
    stamps = parse_time(column, source)  # frame order
    if isinstance(stamps, np.ndarray):
        if freq is not None:
            raise UserError(
                f"{source}: --freq needs dates, but time column '{time_col}' holds integer steps"
            )
        return step_indexes(layout.take(stamps), layout, time_col), None
    stamps = layout.take(stamps)
    check_order(stamps.asi8, layout, time_col, lambda p: fmt_time(stamps[p]))
    if freq is None:
        ref, offset = _shared_offset(stamps, layout, time_col)
    else:
        ref, offset = 0, parse_freq(freq)
        _check_starts(stamps, offset, layout, freq)
    _check_grid(stamps, offset, layout, time_col, freq, ref)
    bounds = zip(layout.offsets[:-1], layout.offsets[1:], strict=True)
    return [pd.DatetimeIndex(stamps[a:b], freq=offset) for a, b in bounds], offset.freqstr


def _check_starts(stamps: pd.DatetimeIndex, offset: Any, layout: Layout, freq: str) -> None:
    """With --freq, every series must start on a time of that frequency."""
    for i, position in enumerate(layout.offsets[:-1]):
        start = stamps[position]
        if not offset.is_on_offset(start):
            raise UserError(
                f"{layout.source}: {fmt_time(start)} (row {layout.row(int(position))}) is not a "
                f"time of --freq {freq}{layout.where(i)}; pick the frequency that fits the "
                "times (e.g. MS for month starts, ME for month ends)"
            )


def _check_grid(
    stamps: pd.DatetimeIndex, offset: Any, layout: Layout, time_col: str, freq: str | None, ref: int
) -> None:
    """Each time must follow the one before it by ``offset`` (that of series ``ref``)."""
    bad = off_grid(stamps, offset, layout.within())
    if bad is None:
        return
    i = layout.series_of(bad)
    own = infer_offset(stamps[layout.offsets[i] : layout.offsets[i + 1]])
    if freq is None and own is not None and own != offset:
        raise UserError(
            f"{layout.source}: series '{layout.ids[ref]}' has frequency {offset.freqstr} but "
            f"series '{layout.ids[i]}' has {own.freqstr}; all series must share one frequency"
        )
    given = f" as given by --freq {freq}" if freq is not None else ""
    raise irregular(stamps, bad, describe_step(offset) + given, layout, time_col)


def _shared_offset(stamps: pd.DatetimeIndex, layout: Layout, time_col: str) -> tuple[int, Any]:
    """The first series with 3+ rows, and its frequency; if it is irregular, raise at its gap."""
    lengths = np.diff(layout.offsets)
    if lengths.max() < 3:
        per = " per series" if layout.id_col else ""
        raise UserError(
            f"{layout.source}: cannot infer the time step from {lengths.max()} rows{per}; "
            "pass --freq (e.g. --freq D or --freq MS)"
        )
    i = int(np.argmax(lengths >= 3))
    a, b = int(layout.offsets[i]), int(layout.offsets[i + 1])
    offset = infer_offset(stamps[a:b])
    if offset is None:
        bad, step = first_gap(stamps[a:b])
        if bad is None:
            raise UserError(
                f"{layout.source}: cannot infer the frequency of column '{time_col}'"
                f"{layout.where(i)}: its steps are {step} but not equal; pass --freq, or put "
                "the times on a regular grid (e.g. month starts)"
            )
        raise irregular(stamps, a + bad, step, layout, time_col)
    return i, offset


def step_indexes(steps: np.ndarray, layout: Layout, time_col: str) -> list[pd.Index]:
    """Integer time steps: regular within each series, one step shared by all series."""
    check_order(steps, layout, time_col, lambda p: str(steps[p]))
    diffs = np.diff(steps)  # (total - 1,)
    within = layout.within()
    lengths = np.diff(layout.offsets)
    ref = int(np.argmax(lengths >= 2))
    step = _mode(diffs[layout.offsets[ref] : layout.offsets[ref + 1] - 1]) if within.any() else 1
    bad = np.flatnonzero(within & (diffs != step))
    if bad.size:
        i = layout.series_of(int(bad[0]))
        own = diffs[layout.offsets[i] : layout.offsets[i + 1] - 1]
        if (own == own[0]).all():
            raise UserError(
                f"{layout.source}: series '{layout.ids[ref]}' steps by {step} but series "
                f"'{layout.ids[i]}' by {own[0]} in column '{time_col}'; all series must share "
                "one step"
            )
        p = int(layout.offsets[i]) + int(np.argmax(own != _mode(own)))
        dated = 19000101 <= steps[p] <= 21001231
        hint = "; if these are dates, write them as YYYY-MM-DD" if dated else ""
        raise irregular(steps, p, str(_mode(own)), layout, time_col, hint)
    return [
        pd.RangeIndex(int(steps[a]), int(steps[a]) + int(n) * step, step)
        for a, n in zip(layout.offsets[:-1], lengths, strict=True)
    ]


def _mode(values: np.ndarray) -> int:
    found, counts = np.unique(values, return_counts=True)
    return int(found[np.argmax(counts)])
