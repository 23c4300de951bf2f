"""CSV text, checked: UTF-8 decoding, the separator, the header and every row's field count.

pandas parses the file; these checks come first or around it, because pandas would otherwise
guess silently: it pads a short row with NaN, takes a long one as an index column, renames a
repeated column name to ``name.1``, and reads Latin-1 bytes as garbage or a traceback.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io

import numpy as np
import pandas as pd

from rnnkit.errors import UserError

__all__ = ["SEPARATORS", "detect_separator", "parse_csv"]

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SAMPLE_CHARS = 1 << 16  # separator detection looks at the first 64 KiB only


def parse_csv(data: bytes, *, sep: str | None = None, source: str = "data") -> pd.DataFrame:
    """The table in UTF-8 CSV ``data`` (BOM allowed); ``sep`` None: detected."""
    sample = _decode(data, source)[: _SAMPLE_CHARS + 1]  # the rest of the text is not kept
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    sep = resolve_separator(sep, sample, source)
    header = _check_header(_records(sample, sep, limit=1)[0], source)
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=sep, encoding="utf-8", low_memory=False)
    except (ValueError, pd.errors.ParserError) as exc:
        _raise_ragged(data, sep, len(header), source)
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{source}: cannot parse the file as CSV: {reason}") from None
    _check_fields(data, sep, len(header), len(frame), source)
    if len(frame) == 0:
        raise UserError(f"{source} has a header but no data rows")
    frame.columns = pd.Index(header)
    return frame


def _decode(data: bytes, source: str) -> str:
    """The text of a UTF-8 file (BOM removed); binary or non-UTF-8 content -> UserError."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UserError(f"{source} is UTF-16 text; save it as UTF-8 (e.g. 'CSV UTF-8' in Excel)")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise UserError(
            f"{source} looks binary, not text: a NUL byte on line {line}; rnnkit reads CSV text, "
            "or Parquet files named .parquet"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(
            f"{source} is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line}; save it "
            "as UTF-8 (e.g. iconv -f latin1 -t utf-8 in.csv > out.csv)"
        ) from None
    if not text or text.isspace():
        raise UserError(f"{source} is empty; a CSV file needs a header line and data rows")
    return text


def _records(text: str, sep: str, limit: int | None = None) -> list[list[str]]:
    """Up to ``limit`` non-blank CSV records of ``text`` split on ``sep``."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows: list[list[str]] = []
    with contextlib.suppress(csv.Error):  # a quoted field cut off by the sample's end
        for row in reader:
            if any(field.strip() for field in row):
                rows.append(row)
                if limit is not None and len(rows) >= limit:
                    break
    return rows


def detect_separator(text: str, source: str = "data") -> str:
    """The separator among comma, semicolon, tab and pipe that splits the header (and the rows
    below it into the same number of fields); a file of one column reads with a comma."""
    sample = text[:_SAMPLE_CHARS]
    if len(text) > _SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    splits = {sep: _records(sample, sep, limit=50) for sep in SEPARATORS}
    candidates = [sep for sep, rows in splits.items() if rows and len(rows[0]) > 1]
    consistent = [s for s in candidates if all(len(r) == len(splits[s][0]) for r in splits[s])]
    if len(candidates) == 1:
        return candidates[0]
    if len(consistent) == 1:
        return consistent[0]
    if not candidates:
        return ","
    names = " and ".join(f"{SEPARATORS[s]} ({s!r})" for s in consistent or candidates)
    raise UserError(
        f"{source}: cannot tell the separator: {names} each split the header; "
        f"pass --sep with the right one (e.g. --sep ';')"
    )


def resolve_separator(sep: str | None, text: str, source: str) -> str:
    if sep is None:
        return detect_separator(text, source)
    sep = {"tab": "\t", "\\t": "\t"}.get(sep, sep)
    if len(sep) != 1 or sep in '"\r\n':
        raise UserError(f"--sep must be one character (e.g. ',', ';', tab, '|'), got {sep!r}")
    return sep


def _check_header(header: list[str], source: str) -> list[str]:
    names = [name.strip() for name in header]
    seen: set[str] = set()
    for number, name in enumerate(names, start=1):
        if name and name in seen:
            raise UserError(
                f"{source}: column name '{name}' appears twice in the header (again as column "
                f"{number}); rename one of them"
            )
        seen.add(name)
    return [name or f"Unnamed: {i}" for i, name in enumerate(names)]


def _check_fields(data: bytes, sep: str, n_fields: int, n_rows: int, source: str) -> None:
    """Every non-blank record must have the header's ``n_fields`` fields: pandas pads a short
    row with NaN without a word, and takes a longer one as an index column.

    Without quote characters a record is a line, and since pandas refuses rows with too many
    fields, the file is right when it holds exactly ``(n_fields - 1) * (n_rows + 1)`` separators.
    With quotes, the csv module counts the fields of every record.
    """
    if b'"' in data:
        reader = csv.reader(_lines(data), delimiter=sep)
        try:
            lengths = np.fromiter(map(len, reader), dtype=np.int64)  # (records,)
            right = bool(((lengths == n_fields) | (lengths == 0)).all())
        except csv.Error:
            right = False
    else:
        right = data.count(sep.encode()) == (n_fields - 1) * (n_rows + 1)
    if not right:
        _raise_ragged(data, sep, n_fields, source)


def _lines(data: bytes) -> io.TextIOWrapper:
    """The lines of UTF-8 ``data`` for the csv module, line ends kept (no copy of the text)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")


def _raise_ragged(data: bytes, sep: str, n_fields: int, source: str) -> None:
    """Find the first non-blank record without ``n_fields`` fields and raise with its line."""
    line = None
    if b'"' in data:
        reader = csv.reader(_lines(data), delimiter=sep)
        start = 1
        try:
            for row in reader:
                if len(row) != n_fields and any(field.strip() for field in row):
                    if reader.line_num > start:  # a quote left open swallows the lines below
                        raise UserError(
                            f"{source}: line {start}: a quoted field runs on to line "
                            f"{reader.line_num}; check the quotes on line {start}"
                        )
                    line = start
                    break
                start = reader.line_num + 1
        except csv.Error as exc:
            message = f"{source}: line {start}: {exc}; check the quotes on that line"
            raise UserError(message) from None
    else:
        buf = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero((buf == ord("\n")) | (buf == ord("\r")))  # (lines - 1,)
        starts = np.concatenate([[0], ends + 1])  # (lines,)
        stops = np.concatenate([ends, [len(buf)]])  # (lines,)
        seps = np.flatnonzero(buf == ord(sep))  # a separator's line: binary search in the ends
        fields = np.bincount(np.searchsorted(ends, seps), minlength=len(starts)) + 1  # (lines,)
        newline = b"\n" if b"\n" in data else b"\r"
        for i in np.flatnonzero((stops > starts) & (fields != n_fields)):
            if data[starts[i] : stops[i]].strip():  # whitespace-only lines are blank, as for pandas
                line = data.count(newline, 0, int(starts[i])) + 1
                break
    if line is not None:
        raise UserError(
            f"{source}: line {line} does not have the {n_fields} fields of the header "
            f"(separator: {SEPARATORS.get(sep, repr(sep))}); fix that line, or quote fields that "
            "contain the separator"
        )
