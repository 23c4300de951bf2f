"""A reader of the official M4 files (wide, as published) or of their long versions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.errors import UserError
from rnnkit.forecasting.m4_subsets import Subset, subset_info

OFFICIAL = "the GitHub repository Mcompetitions/M4-methods (Dataset/Train and Dataset/Test)"


def _find(folder: Path, name: str, kind: str) -> Path:
    """``Name-kind.csv`` in the folder or its Train/Test subfolder; else the long version."""
    places = (folder, folder / kind.title())
    for file in (f"{name}-{kind}.csv", f"{name}-{kind}-long.csv"):
        for place in places:
            if (place / file).is_file():
                return place / file
    raise UserError(
        f"M4 file {name}-{kind}.csv not found in {folder} (nor in {places[1]}); "
        f"the official files are published in {OFFICIAL}"
    )


def _numeric(frame: pd.DataFrame, path: Path, ids: pd.Series) -> np.ndarray:
    """The frame's values as floats; a UserError naming the first non-numeric cell."""
    bad = np.zeros(frame.shape, dtype=bool)
    columns = []
    for j, (column, dtype) in enumerate(frame.dtypes.items()):
        if pd.api.types.is_numeric_dtype(dtype):
            columns.append(frame[column].to_numpy(np.float64))
            continue
        converted = pd.to_numeric(frame[column], errors="coerce")
        bad[:, j] = (converted.isna() & frame[column].notna()).to_numpy()
        columns.append(converted.to_numpy(np.float64))
    values = np.column_stack(columns) if columns else np.empty(frame.shape)
    bad |= np.isinf(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        value = str(frame.iat[row, col])
        raise UserError(
            f"{path}: non-numeric value '{value}' in column {frame.columns[col]} "
            f"(series {ids.iat[row]})"
        )
    return values


def _read_wide(df: pd.DataFrame, path: Path, kind: str, info: Subset) -> pd.DataFrame:
    expected = [f"V{i}" for i in range(1, df.shape[1] + 1)]
    if list(df.columns) != expected or df.shape[1] < 2:
        raise UserError(
            f"{path}: not the official M4 wide format (columns V1 = series id, then V2, V3, ... "
            f"the values); found columns {', '.join(map(str, df.columns[:4]))}..."
        )
    ids = df["V1"].astype(str)
    values = _numeric(df.iloc[:, 1:], path, ids)
    present = ~np.isnan(values)
    lengths = present.sum(axis=1)
    if kind == "test" and values.shape[1] != info.horizon:
        raise UserError(
            f"{path}: {values.shape[1]} values per series, but the {info.name} horizon is "
            f"{info.horizon}"
        )
    prefix = np.arange(values.shape[1]) < lengths[:, None]
    broken = (lengths == 0) | (present != prefix).any(axis=1)
    if kind == "test":
        broken |= lengths != info.horizon
    if broken.any():
        raise UserError(
            f"{path}: series {ids.iat[int(np.argmax(broken))]} has missing values "
            "(only trailing NA padding of training series is allowed)"
        )
    rows, cols = np.nonzero(present)  # row-major: series in file order, then time
    step = "t" if kind == "train" else "h"
    return pd.DataFrame({"id": ids.to_numpy()[rows], step: cols + 1, "y": values[present]})


def _read_long(df: pd.DataFrame, path: Path, kind: str, info: Subset) -> pd.DataFrame:
    step = "t" if kind == "train" else "h"
    if not {"id", step, "y"} <= set(df.columns):
        raise UserError(
            f"{path}: not an M4 file: expected the official wide format (columns V1, V2, ...) "
            f"or long columns id,{step},y"
        )
    ids = df["id"].astype(str)
    numbers = _numeric(df[[step, "y"]], path, ids)
    if np.isnan(numbers).any():
        raise UserError(f"{path}: missing values in columns {step} or y")
    out = pd.DataFrame({"id": ids, step: numbers[:, 0].astype(np.int64), "y": numbers[:, 1]})
    out = out.sort_values(step, kind="stable")  # keeps first-appearance order of ids below
    order = list(pd.unique(ids))
    out = out.set_index("id").loc[order].reset_index()
    counts = out.groupby("id", sort=False).cumcount().to_numpy() + 1
    if (counts != out[step].to_numpy()).any() or (
        kind == "test" and (out.groupby("id", sort=False)[step].max() != info.horizon).any()
    ):
        raise UserError(f"{path}: {step} must run 1, 2, ... per series (1..{info.horizon} in test)")
    return out


def _read(path: Path, kind: str, info: Subset) -> pd.DataFrame:
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise UserError(f"{path}: cannot read it as CSV ({str(e).splitlines()[0]})") from None
    if df.shape[0] == 0:
        raise UserError(f"{path}: no series")
    reader = _read_wide if df.columns[0] == "V1" else _read_long
    out = reader(df, path, kind, info)
    if out.drop_duplicates(["id", "t" if kind == "train" else "h"]).shape[0] != out.shape[0]:
        raise UserError(f"{path}: a series id appears more than once")
    return out


def read_m4(data_dir: str | Path, subset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read an M4 subset's official files from ``data_dir`` (or its Train/ and Test/ folders).

    Returns ``(train_long, test)``: columns id, t, y (t = 1..n) and id, h, y (h = 1..horizon),
    series in the order of the training file, ids as strings. Long files ``Name-train-long.csv``
    (id,t,y) and ``Name-test-long.csv`` (id,h,y; a t column is ignored) are read when the wide
    ones are absent.
    """
    info = subset_info(subset)
    folder = Path(data_dir)
    if not folder.is_dir():
        raise UserError(f"M4 data folder {folder} not found; the files are published in {OFFICIAL}")
    train_path, test_path = _find(folder, info.name, "train"), _find(folder, info.name, "test")
    try:
        train = _read(train_path, "train", info)
        test = _read(test_path, "test", info)[["id", "h", "y"]]
    except UserError as e:
        raise UserError(f"{e}; the official files are published in {OFFICIAL}") from None
    order = list(pd.unique(train["id"]))
    odd = set(order) ^ set(test["id"])
    if odd:
        raise UserError(
            f"{test_path}: its series do not match {train_path.name} ({len(odd)} in only one "
            f"of them, e.g. {sorted(odd)[0]}); the official files are published in {OFFICIAL}"
        )
    test = test.set_index("id").loc[order].reset_index()
    return train.reset_index(drop=True), test
