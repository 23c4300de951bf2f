"""Reading and writing users' tables: CSV (optionally gzipped) and Parquet, checked on the way in.

:func:`load_table` takes a bundled dataset name or a file path and returns a DataFrame, or raises
:class:`~rnnkit.errors.UserError` with a one-line message that says what is wrong, where, and
what to do. The CSV checks are in :mod:`rnnkit.data.csvfile`. Turning a table into series
ready for windowing is :mod:`rnnkit.data.validate` (:func:`prepare_series`), re-exported here
with :func:`season_length` so that one import serves both. The checks and their messages are
described in ``docs/data-files.md``.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Literal

import pandas as pd

from rnnkit.data.csvfile import SEPARATORS, detect_separator, parse_csv
from rnnkit.data.datasets import (
    DATASETS,
    DatasetInfo,
    is_dataset,
    load_classification,
    load_series,
    load_text,
)
from rnnkit.data.validate import (
    SOURCE_ATTR,
    SeriesData,
    parse_freq,
    prepare_series,
    season_length,
)
from rnnkit.errors import UserError, closest
from rnnkit.runs import atomic_write

__all__ = [
    "SEPARATORS",
    "SUPPORTED",
    "SeriesData",
    "detect_separator",
    "load_table",
    "parse_freq",
    "prepare_series",
    "read_csv_file",
    "read_parquet_file",
    "read_text",
    "season_length",
    "write_table",
]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = ".csv, .tsv, .txt (each optionally .gz), .parquet, .pq"
TABLE_LOADERS = {"series": load_series, "classification": load_classification}


def load_table(
    source: str | Path, *, sep: str | None = None, kind: str = "series"
) -> tuple[pd.DataFrame, DatasetInfo | None]:
    """A bundled dataset of ``kind`` by name -> ``(frame, info)``; a file -> ``(frame, None)``.

    ``kind`` is "series" (forecasting) or "classification"; ``sep`` forces the CSV separator
    (default: detected among comma, semicolon, tab and pipe). Every command reads its tables here.
    """
    name = str(source)
    if isinstance(source, str) and is_dataset(source):
        info = DATASETS[source]
        if info.kind != kind:
            names = ", ".join(_bundled(kind))
            raise UserError(f"dataset '{source}' is a {info.kind} dataset; {kind}: {names}")
        return TABLE_LOADERS[kind](source), info
    path = _existing_file(Path(source), kind)
    if _format(path) == "parquet":
        frame = read_parquet_file(path, source=name)
    else:
        frame = read_csv_file(path, sep=sep, source=name)
    frame.attrs[SOURCE_ATTR] = name  # prepare_series names the file in its messages
    return frame, None


def read_text(source: str | Path) -> str:
    """The text of a bundled text dataset (by name) or of a UTF-8 file (optionally gzipped).

    An empty, binary (NUL bytes) or non-UTF-8 file is a :class:`UserError`; a BOM is dropped.
    """
    name = str(source)
    if isinstance(source, str) and is_dataset(source):
        if DATASETS[source].kind != "text":
            raise UserError(f"dataset '{source}' is not text; text: {', '.join(_bundled('text'))}")
        return load_text(source)
    path = _existing_file(Path(source), "text")
    data = _read_bytes(path, name, what="a text file needs characters")
    if b"\x00" in data:
        raise UserError(f"{name} looks like a binary file (it contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserError(
            f"{name} is not UTF-8 text (byte {err.start}: {data[err.start]:#04x}); save it as UTF-8"
        ) from None


def _bundled(kind: str) -> list[str]:
    return [n for n, i in DATASETS.items() if i.kind == kind]


def _format(path: Path) -> str:
    """'csv' or 'parquet' from the file name's extension (case-insensitive)."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] in PARQUET_SUFFIXES:
        return "parquet"
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in CSV_SUFFIXES:
        return "csv"
    raise UserError(
        f"{path}: unsupported file type '{''.join(path.suffixes) or '(none)'}'; "
        f"rnnkit reads {SUPPORTED}"
    )


def _existing_file(path: Path, kind: str = "series") -> Path:
    if path.is_dir():
        raise UserError(f"{path} is a folder; give the path of a data file ({SUPPORTED})")
    if not path.exists():
        hint = ""
        if not path.suffix and len(path.parts) == 1:
            names = _bundled(kind)
            hint = f"{closest(path.name, names)}; bundled {kind} datasets: {', '.join(names)}"
        raise UserError(f"no such file: {path}{hint}")
    return path


def _read_bytes(
    path: Path, source: str, what: str = "a CSV file needs a header line and data rows"
) -> bytes:
    try:
        data = path.read_bytes()
        if path.suffix.lower() == ".gz":
            data = gzip.decompress(data)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise UserError(f"{source}: not a valid gzip file ({exc}); re-compress it") from None
    except OSError as exc:
        raise UserError(f"cannot read {source}: {exc.strerror or exc}") from None
    if not data or data.isspace():
        raise UserError(f"{source} is empty; {what}")
    return data


def read_csv_file(
    path: str | Path, *, sep: str | None = None, source: str | None = None
) -> pd.DataFrame:
    """Read a UTF-8 CSV file (comma, semicolon, tab or pipe; optionally gzipped), checked."""
    path = _existing_file(Path(path))
    source = source or str(path)
    return parse_csv(_read_bytes(path, source), sep=sep, source=source)


def read_parquet_file(path: str | Path, *, source: str | None = None) -> pd.DataFrame:
    """Read a Parquet file with pandas/pyarrow, checked (unreadable, empty, duplicate names)."""
    import pyarrow as pa

    path = _existing_file(Path(path))
    source = source or str(path)
    if path.stat().st_size == 0:
        raise UserError(f"{source} is empty (0 bytes); write the Parquet file again")
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        text = str(exc).replace(f"Could not open Parquet input source '{path}': ", "")
        reason = " ".join(text.split())[:200]
        raise UserError(
            f"{source}: cannot read the file as Parquet ({reason}); is it a complete Parquet "
            "file? Write it again"
        ) from None
    duplicated = frame.columns[frame.columns.duplicated()]
    if len(duplicated):
        raise UserError(f"{source}: column name '{duplicated[0]}' appears twice; rename one")
    if len(frame) == 0:
        raise UserError(f"{source} has columns but no data rows")
    return frame


def write_table(df: pd.DataFrame, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``df`` as CSV (.csv/.tsv/.txt, optionally .gz) or Parquet, by extension, atomically.

    The index is written too unless it is a plain RangeIndex. An existing file is replaced only
    with ``overwrite=True``; the data goes to a temporary file beside it first, then
    ``os.replace`` moves it into place, so a failed write never leaves half a file.
    """
    path = Path(path)
    kind = _format(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder; give a file name ({SUPPORTED})")
    if path.exists() and not overwrite:
        raise UserError(f"{path} already exists; pass --overwrite to replace it")
    mode = path.stat().st_mode & 0o777 if path.exists() else None
    index = not isinstance(df.index, pd.RangeIndex)

    def write(tmp: str) -> None:
        if kind == "parquet":
            df.to_parquet(tmp, index=index)
        else:
            sep = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","
            gz: Literal["gzip"] | None = "gzip" if path.suffix.lower() == ".gz" else None
            df.to_csv(tmp, sep=sep, index=index, lineterminator="\n", compression=gz)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, write, mode=mode)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
