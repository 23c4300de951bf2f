"""Sequence-classification data: wide or long tables to sequences, scaling, splits, batches.

Two table layouts are read:

* wide (as in the UCR archive): one row per sequence, a label column and one column per step;
  shorter sequences end in empty cells. One feature per step.
* long: one row per step, with an id column (which sequence), an optional time column (order
  within a sequence, else file order), feature columns and a label constant within an id.

Sequences are independent of each other, so splits are random (stratified by class), not
chronological.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from rnnkit.config import name_list, option
from rnnkit.data.io import load_table
from rnnkit.errors import UserError, closest, unknown

FORMATS = ("wide", "long")


@dataclass
class TableSpec:
    """Which columns of a table hold what (saved with a classifier, reused to predict)."""

    format: str = option(
        "wide", "wide: a row per sequence, a column per step; long: a row per step"
    )
    label: str = option("label", "the class column")
    id_col: str | None = option(None, "long: the sequence id column; wide: an optional row id")
    time_col: str | None = option(None, "long: the step order column (default: file order)")
    features: list[str] = option(
        [],
        "long: comma-separated feature columns (default: every other numeric column)",
        type=name_list,
    )


@dataclass
class SequenceSet:
    """Variable-length sequences, each (length, features) float32, with labels and ids."""

    sequences: list[np.ndarray]
    labels: np.ndarray  # (n,) str; empty when the table has no label column
    ids: np.ndarray  # (n,) the id column's values, or 1-based row numbers
    id_name: str  # the id column, or "row"

    def subset(self, index: np.ndarray) -> SequenceSet:
        labels = self.labels[index] if len(self.labels) else self.labels
        seqs = [self.sequences[i] for i in index]
        return SequenceSet(seqs, labels, self.ids[index], self.id_name)


def read_table(source: str | Path) -> pd.DataFrame:
    """A bundled classification dataset (by name) or a CSV / Parquet file, via the one reader."""
    return load_table(source, kind="classification")[0]


def _require(frame: pd.DataFrame, column: str, what: str) -> None:
    if column not in frame.columns:
        columns = [str(c) for c in frame.columns]
        raise UserError(
            f"no {what} column '{column}'{closest(column, columns)}; "
            f"columns: {', '.join(columns[:12])}" + (", ..." if len(columns) > 12 else "")
        )


def _numeric(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The columns as float64; a non-numeric cell is an error naming its row and column."""
    part = frame[columns]
    values = part.apply(pd.to_numeric, errors="coerce")
    bad = values.isna().to_numpy() & part.notna().to_numpy()
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise UserError(
            f"row {row + 1}, column '{columns[col]}': {part.iat[row, col]!r} is not a number"
        )
    return values.to_numpy(dtype=np.float64)


def _labels(frame: pd.DataFrame, label: str) -> np.ndarray:
    column = frame[label]
    if column.isna().any():
        raise UserError(f"row {int(np.flatnonzero(column.isna())[0]) + 1} has no '{label}'")
    return np.array([str(v) for v in column], dtype=object)


def _wide(frame: pd.DataFrame, spec: TableSpec, has_label: bool) -> list[np.ndarray]:
    skip = {spec.id_col, spec.label if has_label else None}
    steps = [str(c) for c in frame.columns if c not in skip]
    if not steps:
        raise UserError("the table has no step columns besides the label and id")
    values = _numeric(frame, steps)  # (n, max length), NaN = padding
    present = ~np.isnan(values)
    lengths = present.sum(axis=1)
    prefix = np.arange(values.shape[1]) < lengths[:, None]  # (n, max length)
    bad = np.flatnonzero((lengths == 0) | (present != prefix).any(axis=1))
    if bad.size:
        raise UserError(
            f"row {int(bad[0]) + 1}: a sequence must be non-empty, with empty cells only at its "
            "end (wide format)"
        )
    return [values[i, : lengths[i], None].astype(np.float32) for i in range(len(values))]


def _long(
    frame: pd.DataFrame, spec: TableSpec, labels: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Sequences, ids and labels of a long table (ids in order of first appearance)."""
    if spec.id_col is None:
        raise UserError("--format long needs --id-col (the column naming each sequence)")
    if not spec.features:
        skip = {spec.id_col, spec.time_col, spec.label}
        candidates = [c for c in frame.columns if c not in skip]
        spec.features = [str(c) for c in candidates if pd.api.types.is_numeric_dtype(frame[c])]
        if not spec.features:
            raise UserError("no numeric feature columns; name them with --features")
    for col in spec.features:
        _require(frame, col, "feature")
    values = _numeric(frame, spec.features)  # (rows, features), file order
    if np.isnan(values).any():
        row = int(np.argwhere(np.isnan(values))[0][0])
        raise UserError(f"row {row + 1} has an empty feature cell (long format)")
    codes, ids = pd.factorize(frame[spec.id_col])  # codes: sequence number of every row
    if (codes < 0).any():
        raise UserError(f"row {int(np.flatnonzero(codes < 0)[0]) + 1} has no '{spec.id_col}'")
    perm = np.arange(len(frame))
    if spec.time_col is not None:
        try:
            perm = np.argsort(frame[spec.time_col].to_numpy(), kind="stable")
        except TypeError:
            raise UserError(
                f"the '{spec.time_col}' column mixes types and cannot be ordered"
            ) from None
    rows = perm[np.argsort(codes[perm], kind="stable")]  # grouped by id, in time order within
    bounds = np.cumsum(np.bincount(codes))[:-1]
    sequences = [v.astype(np.float32) for v in np.split(values[rows], bounds)]
    if len(labels):
        grouped = np.split(labels[rows], bounds)
        mixed = [i for i, g in enumerate(grouped) if (g != g[0]).any()]
        if mixed:
            raise UserError(f"id {ids[mixed[0]]!r} has more than one label; it must be constant")
        labels = np.array([g[0] for g in grouped], dtype=object)
    return sequences, np.asarray(ids, dtype=object), labels


def extract(frame: pd.DataFrame, spec: TableSpec, *, need_label: bool = True) -> SequenceSet:
    """The sequences of a table laid out as ``spec`` says, with their labels if ``need_label``."""
    if spec.format not in FORMATS:
        raise unknown("format", spec.format, FORMATS)
    if len(frame) == 0:
        raise UserError("the table has no rows")
    if need_label:
        _require(frame, spec.label, "label")
    for col, what in ((spec.id_col, "id"), (spec.time_col, "time")):
        if col is not None:
            _require(frame, col, what)
    has_label = spec.label in frame.columns  # when predicting, it is skipped, empty or not
    labels = _labels(frame, spec.label) if need_label else np.array([], dtype=object)
    if spec.format == "long":
        sequences, ids, labels = _long(frame, spec, labels)
        assert spec.id_col is not None
        return SequenceSet(sequences, labels, ids, spec.id_col)
    sequences = _wide(frame, spec, has_label)
    ids = frame[spec.id_col].to_numpy() if spec.id_col else np.arange(1, len(frame) + 1)
    return SequenceSet(sequences, labels, ids, spec.id_col or "row")


def stratified_split(
    labels: np.ndarray, size: float | int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Random (kept, held-out) positions, each class held out in proportion to its size.

    ``size`` is a fraction in (0, 1) or a count; every class keeps at least one member.
    """
    n = len(labels)
    target = size if isinstance(size, int) else int(round(size * n))
    if not 0 < target < n:
        raise UserError(f"cannot hold out {target} of {n} sequences; pick a size in [1, {n - 1}]")
    rng = np.random.default_rng(seed)
    classes, codes = np.unique(labels.astype(str), return_inverse=True)
    members = [rng.permutation(np.flatnonzero(codes == c)) for c in range(len(classes))]
    share = np.array([len(m) for m in members]) * target / n
    counts = np.floor(share).astype(int)
    extra = target - counts.sum()  # largest remainders get one more
    counts[np.argsort(-(share - counts), kind="stable")[:extra]] += 1
    counts = np.minimum(counts, [len(m) - 1 for m in members])
    held = np.sort(np.concatenate([m[:k] for m, k in zip(members, counts, strict=True)]))
    if held.size == 0:
        raise UserError(f"no sequence could be held out of {n} (every class has one member)")
    kept = np.setdiff1d(np.arange(n), held)
    return kept, held


class PaddedBatches:
    """Sequences served as zero-padded batches with their lengths (for packing) and labels."""

    def __init__(self, sequences: list[Tensor], targets: Tensor) -> None:
        self.sequences, self.targets = sequences, targets
        self.lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.sequences)

    def iter_batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        """Yield ``(x, lengths, y)``: (B, longest in batch, features), (B,), (B,)."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size].tolist()
            x = pad_sequence([self.sequences[i] for i in rows], batch_first=True)
            yield x, self.lengths[rows], self.targets[rows]
