"""Reading and checking users' data files: a corpus of malformed inputs, each refused with one
line that names the problem, and valid-but-unusual files read correctly."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.datasets import DATASETS
from rnnkit.data.io import load_table, prepare_series, season_length, write_table
from rnnkit.errors import UserError
from tests.conftest import assert_one_line_error

DAILY = "".join(f"2020-01-{d:02d},{d}.5\n" for d in range(1, 11))  # 10 regular daily rows


def _parquet_bytes(frame: pd.DataFrame, tmp_path: Path) -> bytes:
    path = tmp_path / "_scratch.parquet"
    frame.to_parquet(path)
    return path.read_bytes()


@dataclass
class Bad:
    """One malformed input: a file and what the message must say (see PREPARE for options)."""

    name: str  # file name (its extension matters)
    content: Any  # str, bytes, or a callable(tmp_path) -> bytes
    expect: list[str]  # substrings of the one-line message


def _air(n: int) -> str:
    return "".join(f"2020-{m:02d}-01,{m}\n" for m in range(1, n + 1))


CORPUS = [
    Bad("empty.csv", "", ["empty.csv is empty"]),
    Bad("blank.csv", "  \n\n \r\n", ["is empty"]),
    Bad("bom_only.csv", b"\xef\xbb\xbf\n", ["is empty"]),
    Bad("header_only.csv", "date,value\n", ["header but no data rows"]),
    Bad("header_blank_lines.csv", "date,value\n\n\n", ["header but no data rows"]),
    Bad("short_row.csv", "date,value\n2020-01-01,1\n2020-01-02\n", ["line 3", "2 fields"]),
    Bad("long_row.csv", "date,value\n2020-01-01,1,9\n2020-01-02,2\n", ["line 2", "2 fields"]),
    Bad("long_row_late.csv", "a,b\n1,2\n3,4\n\n5,6,7\n", ["line 5"]),
    Bad("ragged_quoted.csv", 'name,value\n"a, b",1\n"c",2,3\n', ["line 3", "2 fields"]),
    Bad("open_quote.csv", 'a,b\n"x,1\n2,3\n', ["line 2", "quote"]),
    Bad("garbage.csv", bytes(range(256)) * 4, ["binary"]),
    Bad("png.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["binary"]),
    Bad("latin1_header.csv", "date,caf\xe9\n2020-01-01,1\n".encode("latin-1"), ["UTF-8", "0xe9"]),
    Bad("latin1_row.csv", "a,b\n1,2\n3,\xfc\n".encode("latin-1"), ["not UTF-8", "line 3"]),
    Bad("utf16.csv", "date,value\n2020-01-01,1\n".encode("utf-16"), ["UTF-16", "UTF-8"]),
    Bad("dup_cols.csv", "date,value,value\n2020-01-01,1,2\n", ["'value' appears twice"]),
    Bad("dup_cols_space.csv", "date, value,value\n2020-01-01,1,2\n", ["'value' appears twice"]),
    Bad("ambiguous.csv", "a,b;c\n1,2;3\n", ["separator", "--sep"]),
    Bad("data.xlsx", b"PK\x03\x04", [".xlsx", ".csv", ".parquet"]),
    Bad("data", "date,value\n", ["unsupported file type"]),
    Bad("corrupt.parquet", b"PAR1 this is not parquet at all", ["Parquet"]),
    Bad(
        "truncated.parquet",
        lambda tmp: _parquet_bytes(pd.DataFrame({"v": np.arange(50.0)}), tmp)[:-30],
        ["Parquet", "Write it again"],
    ),
    Bad("zero.parquet", b"", ["empty"]),
    Bad(
        "no_rows.parquet",
        lambda tmp: _parquet_bytes(pd.DataFrame({"v": np.array([], dtype=float)}), tmp),
        ["no data rows"],
    ),
    Bad("fake.csv.gz", b"\x1f\x8b\x08 not really gzip", ["gzip"]),
    Bad("text.csv", "date,value\n" + "2020-01-01,abc\n", ["'value'", "row 1", "'abc'"]),
    Bad("mixed.csv", "date,value\n" + _air(2) + "2020-03-01,oops\n", ["mixes", "row 3", "'oops'"]),
    Bad("decimal_comma.csv", 'date,value\n2020-01-01,"1,5"\n', ["'1,5'", "decimal point"]),
    Bad("nan.csv", "date,value\n2020-01-01,1\n2020-01-02,\n2020-01-03,3\n", ["row 2", "--fill"]),
    Bad("nan_text.csv", "date,value\n2020-01-01,1\n2020-01-02,NaN\n2020-01-03,3\n", ["row 2"]),
    Bad("inf.csv", "date,value\n" + _air(3) + "2020-04-01,inf\n", ["infinite", "row 4"]),
    Bad("huge.csv", "date,value\n" + _air(3) + "2020-04-01,1e300\n", ["1e+300", "row 4"]),
    Bad("huge_neg.csv", "date,value\n2020-01-01,-2e16\n", ["-2e+16", "rescale"]),
    Bad("dup_time.csv", "date,value\n" + _air(2) + "2020-02-01,3\n", ["2020-02-01", "twice"]),
    Bad("unsorted.csv", "date,value\n2020-02-01,1\n2020-01-01,2\n", ["sort the file by time"]),
    Bad(
        "gap_daily.csv",
        "date,value\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n2020-01-05,5\n2020-01-06,6\n",
        ["2020-01-05 follows 2020-01-03", "1 day"],
    ),
    Bad(
        "gap_monthly.csv",
        "date,value\n" + _air(3) + "2020-05-01,5\n2020-06-01,6\n",
        ["2020-05-01 follows 2020-03-01", "month"],
    ),
    Bad(
        "gap_at_start.csv",
        "date,value\n2020-01-01,1\n2020-01-03,3\n2020-01-04,4\n2020-01-05,5\n",
        ["2020-01-03 follows 2020-01-01", "1 day"],
    ),
    Bad(
        "gap_short_monthly.csv",  # too short for a regular head or tail: the typical step
        "date,value\n2020-01-01,1\n2020-02-01,2\n2020-04-01,4\n2020-05-01,5\n",
        ["2020-04-01 follows 2020-02-01", "about 30 days"],
    ),
    Bad(
        "mid_month.csv",
        "date,value\n" + "".join(f"2020-{m:02d}-15,{m}\n" for m in range(1, 8)),
        ["cannot infer the frequency", "month starts"],
    ),
    Bad("bad_date.csv", "date,value\n2020-01-01,1\n2020-13-45,2\n", ["row 2", "'2020-13-45'"]),
    Bad("empty_time.csv", "date,value\n2020-01-01,1\n,2\n", ["time column 'date'", "row 2"]),
    Bad("fraction_time.csv", "t,value\n1,1\n1.5,2\n", ["1.5", "whole number"]),
    Bad("yyyymmdd.csv", "t,value\n20200130,1\n20200131,2\n20200201,3\n", ["YYYY-MM-DD"]),
    Bad("misspelt.csv", "date,value\n" + DAILY, ["'valeu'", "did you mean 'value'"]),
    Bad("bad_cov.csv", "date,value\n" + DAILY, ["covariate", "'temp'", "columns: date"]),
    Bad("target_is_cov.csv", "date,value\n" + DAILY, ["one role"]),
    Bad("short.csv", "date,value\n" + DAILY, ["10 rows", "24", "--window"]),
    Bad("few_rows.csv", "date,value\n2020-01-01,1\n2020-01-02,2\n", ["--freq"]),
    Bad("freq_wrong.csv", "date,value\n" + DAILY, ["--freq 2D", "2020-01-02 follows"]),
    Bad("freq_unknown.csv", "date,value\n" + DAILY, ["unknown frequency 'fortnightly'"]),
    Bad("freq_off.csv", "date,value\n2020-01-15,1\n2020-02-15,2\n", ["2020-01-15", "--freq MS"]),
    Bad("fill_unknown.csv", "date,value\n" + DAILY, ["unknown --fill method 'mean'"]),
    Bad("all_empty.csv", "date,value,x\n" + DAILY.replace("\n", ",\n"), ["'x'", "no values"]),
    Bad("ids_short.csv", "id,date,value\na,2020-01-01,1\na,2020-01-02,2\nb,2020-01-01,1\n", []),
    Bad("ids_freq.csv", "", ["series 'a' has frequency D", "W-SUN", "one frequency"]),
    Bad("ids_gap.csv", "", ["in series 'b'", "2020-01-05 follows 2020-01-03"]),
    Bad("ids_empty.csv", "id,date,value\na,2020-01-01,1\n,2020-01-02,2\n", ["id column", "row 2"]),
    Bad("int_gap.csv", "t,value\n1,1\n2,2\n3,3\n5,5\n", ["5 follows 3", "step is 1"]),
    Bad("int_steps_differ.csv", "id,t,value\na,1,1\na,2,2\nb,1,1\nb,3,3\n", ["one step"]),
]

# Per-case prepare_series arguments (kept apart from the table above so that it stays readable).
PREPARE: dict[str, dict[str, Any]] = {
    "misspelt.csv": {"target": "valeu", "time_col": "date"},
    "bad_cov.csv": {"target": "value", "time_col": "date", "covariates": ["temp"]},
    "target_is_cov.csv": {"target": "value", "time_col": "date", "covariates": ["value"]},
    "short.csv": {"target": "value", "time_col": "date", "min_length": 24},
    "freq_wrong.csv": {"target": "value", "time_col": "date", "freq": "2D"},
    "freq_unknown.csv": {"target": "value", "time_col": "date", "freq": "fortnightly"},
    "freq_off.csv": {"target": "value", "time_col": "date", "freq": "MS"},
    "fill_unknown.csv": {"target": "value", "time_col": "date", "fill": "mean"},
    "all_empty.csv": {"target": "value", "time_col": "date", "covariates": ["x"], "fill": "ffill"},
    "ids_short.csv": {"target": "value", "time_col": "date", "id_col": "id", "min_length": 2},
    "ids_freq.csv": {"target": "value", "time_col": "date", "id_col": "id"},
    "ids_gap.csv": {"target": "value", "time_col": "date", "id_col": "id"},
    "ids_empty.csv": {"target": "value", "time_col": "date", "id_col": "id"},
    "fraction_time.csv": {"target": "value", "time_col": "t"},
    "yyyymmdd.csv": {"target": "value", "time_col": "t"},
    "int_gap.csv": {"target": "value", "time_col": "t"},
    "int_steps_differ.csv": {"target": "value", "time_col": "t", "id_col": "id"},
}
EXPECT_MORE = {"ids_short.csv": ["series 'b'", "1 row,", "2 needed"]}


def _long(rows: dict[str, pd.DatetimeIndex]) -> str:
    lines = ["id,date,value"]
    for name, dates in rows.items():
        lines += [f"{name},{d:%Y-%m-%d},{k}" for k, d in enumerate(dates)]
    return "\n".join(lines) + "\n"


LONG_CONTENT = {
    "ids_freq.csv": _long(
        {
            "a": pd.date_range("2020-01-01", periods=5, freq="D"),
            "b": pd.date_range("2020-01-05", periods=5, freq="W-SUN"),
        }
    ),
    "ids_gap.csv": _long(
        {
            "a": pd.date_range("2020-01-01", periods=6, freq="D"),
            "b": pd.date_range("2020-01-01", periods=6, freq="D").delete(3),
        }
    ),
}


def _write(tmp_path: Path, name: str, content: Any) -> Path:
    if callable(content):
        content = content(tmp_path)
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_the_corpus_is_large_and_distinct():
    assert len(CORPUS) >= 30
    assert len({bad.name for bad in CORPUS}) == len(CORPUS)
    assert set(PREPARE) <= {bad.name for bad in CORPUS}


@pytest.mark.parametrize("bad", CORPUS, ids=[bad.name for bad in CORPUS])
def test_malformed_input_is_one_line_user_error(bad: Bad, tmp_path: Path):
    path = _write(tmp_path, bad.name, LONG_CONTENT.get(bad.name, bad.content))
    kwargs = PREPARE.get(bad.name, {"target": "value", "time_col": _time_col(path)})
    with pytest.raises(UserError) as caught:
        frame, _ = load_table(path)
        prepare_series(frame, **kwargs)  # the file name comes from frame.attrs
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, message
    assert len(message) < 400, message
    assert bad.name in message or "unknown" in message, message
    for part in [*bad.expect, *EXPECT_MORE.get(bad.name, [])]:
        assert part in message, (part, message)


def _time_col(path: Path) -> str:
    """'t' for the files whose time column is called t, else 'date'."""
    return "t" if path.read_bytes()[:2] == b"t," else "date"


def test_folder_and_missing_file(tmp_path: Path):
    with pytest.raises(UserError, match="is a folder"):
        load_table(tmp_path)
    with pytest.raises(UserError, match="no such file"):
        load_table(tmp_path / "nope.csv")


def test_dataset_names_misspelt_or_of_the_wrong_kind():
    with pytest.raises(UserError, match="did you mean 'airpassengers'"):
        load_table("airpasengers")
    with pytest.raises(UserError, match="text dataset"):
        load_table("botchan")


def test_bad_sep_option(tmp_path: Path):
    path = _write(tmp_path, "a.csv", "a,b\n1,2\n")
    with pytest.raises(UserError, match="--sep must be one character"):
        load_table(path, sep=";;")


def test_freq_needs_dates(tmp_path: Path):
    frame = pd.DataFrame({"t": [1, 2, 3], "value": [1.0, 2.0, 3.0]})
    with pytest.raises(UserError, match="--time-col"):
        prepare_series(frame, target="value", freq="D")
    with pytest.raises(UserError, match="integer steps"):
        prepare_series(frame, target="value", time_col="t", freq="D")


# --- valid but unusual files ----------------------------------------------------------------

FRAME = pd.DataFrame(
    {"date": ["2020-01-01", "2020-01-02", "2020-01-03"], "value": [1.5, -2.0, 3e3]}
)


def _text(sep: str = ",", newline: str = "\n") -> str:
    rows = [sep.join(FRAME.columns)] + [sep.join(map(str, row)) for row in FRAME.to_numpy()]
    return newline.join(rows) + newline


@pytest.mark.parametrize(
    ("name", "content", "sep"),
    [
        ("bom.csv", b"\xef\xbb\xbf" + _text().encode(), None),
        ("semicolon.csv", _text(";"), None),
        ("tab.tsv", _text("\t"), None),
        ("pipe.txt", _text("|"), None),
        ("windows.csv", _text(newline="\r\n"), None),
        ("old_mac.csv", _text(newline="\r"), None),
        ("blank_tail.csv", _text() + "\n\n   \n", None),
        ("forced.csv", _text(";"), ";"),
        ("forced_tab.csv", _text("\t"), "tab"),
        ("gzipped.csv.gz", gzip.compress(_text().encode()), None),
        ("upper.CSV", _text(), None),
    ],
)
def test_unusual_csv_reads_like_the_plain_one(name: str, content: Any, sep: str | None, tmp_path):
    frame, info = load_table(_write(tmp_path, name, content), sep=sep)
    assert info is None
    assert list(frame.columns) == ["date", "value"]  # no BOM left in the first name
    assert frame["date"].tolist() == FRAME["date"].tolist()
    np.testing.assert_array_equal(frame["value"].to_numpy(), FRAME["value"].to_numpy())


def test_quoted_fields_with_separators_quotes_and_newlines(tmp_path: Path):
    text = 'name,value,note\n"Smith, J",1,"said ""hi"""\n"Doe\nJane",2,plain\n'
    frame, _ = load_table(_write(tmp_path, "quoted.csv", text))
    assert frame["name"].tolist() == ["Smith, J", "Doe\nJane"]
    assert frame["note"].tolist() == ['said "hi"', "plain"]
    assert frame["value"].tolist() == [1, 2]


def test_header_names_are_stripped(tmp_path: Path):
    frame, _ = load_table(_write(tmp_path, "spaces.csv", "date , value\n2020-01-01,1\n"))
    assert list(frame.columns) == ["date", "value"]


def test_parquet_with_datetime_column_is_found_without_time_col(tmp_path: Path):
    dates = pd.date_range("2021-03-01", periods=6, freq="MS")
    path = tmp_path / "data.parquet"
    pd.DataFrame({"when": dates, "y": np.arange(6.0), "z": np.ones(6)}).to_parquet(path)
    frame, _ = load_table(path)
    data = prepare_series(frame, target="y", covariates=["z"])
    assert data.time_col == "when" and data.freq == "MS"
    assert data.times[0].equals(dates) and data.times[0].freq == dates.freq
    np.testing.assert_array_equal(data.values, np.stack([np.arange(6.0), np.ones(6)], 1))


def test_timezone_aware_timestamps(tmp_path: Path):
    text = "time,load\n" + "".join(f"2021-06-01T{h:02d}:00:00+02:00,{h}\n" for h in range(6))
    frame, _ = load_table(_write(tmp_path, "tz.csv", text))
    data = prepare_series(frame, target="load", time_col="time")
    assert data.freq == "h" and season_length(data.freq) == 24
    index = data.times[0]
    assert index.tz is not None and index[0] == pd.Timestamp("2021-05-31 22:00", tz="UTC")


def test_offsets_that_change_with_daylight_saving_are_read_in_utc(tmp_path: Path):
    local = pd.date_range("2021-03-27", periods=48, freq="h", tz="Europe/Paris")
    text = "time,v\n" + "".join(f"{t.isoformat()},1\n" for t in local)
    frame, _ = load_table(_write(tmp_path, "dst.csv", text))
    data = prepare_series(frame, target="v", time_col="time")
    assert data.freq == "h" and len(data.times[0]) == 48
    assert data.times[0][0] == local[0]


def test_integer_time_is_a_step_index(tmp_path: Path):
    text = "t,v\n" + "".join(f"{10 + 5 * k},{k}\n" for k in range(6))
    frame, _ = load_table(_write(tmp_path, "steps.csv", text))
    data = prepare_series(frame, target="v", time_col="t")
    assert data.freq is None
    assert list(data.times[0]) == [10, 15, 20, 25, 30, 35]
    assert isinstance(data.times[0], pd.RangeIndex)


def test_no_time_column_gives_range_indexes():
    frame = pd.DataFrame({"v": [3.0, 1.0, 2.0], "w": ["a", "b", "c"]})  # extra text column ignored
    data = prepare_series(frame, target="v")
    assert data.time_col is None and data.freq is None and data.ids == ["series"]
    assert data.times[0].equals(pd.RangeIndex(3)) and len(data) == 1


def test_long_format_with_interleaved_ids(tmp_path: Path):
    days = pd.date_range("2022-01-01", periods=5, freq="D")
    rows = [(d, sid, 10 * k + j) for j, d in enumerate(days) for k, sid in enumerate(["x", "a"])]
    text = "date,store,sales,price\n" + "".join(
        f"{d:%Y-%m-%d},{s},{v},{v / 10}\n" for d, s, v in rows
    )
    frame, _ = load_table(_write(tmp_path, "long.csv", text))
    data = prepare_series(
        frame, target="sales", time_col="date", covariates=["price"], id_col="store"
    )
    assert data.ids == ["x", "a"] and len(data) == 2  # first appearance, not sorted
    assert data.offsets.tolist() == [0, 5, 10]
    np.testing.assert_array_equal(data.series(0)[:, 0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(data.series(1)[:, 0], [10, 11, 12, 13, 14])
    np.testing.assert_allclose(data.series(1)[:, 1], [1.0, 1.1, 1.2, 1.3, 1.4], rtol=1e-6)
    assert all(t.equals(days) for t in data.times) and data.freq == "D"
    assert data.values.dtype == np.float32 and data.values.flags["C_CONTIGUOUS"]
    assert np.shares_memory(data.series(1), data.values)


def test_integer_ids_become_strings():
    frame = pd.DataFrame({"id": [7, 7, 3, 3], "v": [1.0, 2.0, 3.0, 4.0]})
    data = prepare_series(frame, target="v", id_col="id")
    assert data.ids == ["7", "3"] and data.lengths.tolist() == [2, 2]


# --- filling gaps ---------------------------------------------------------------------------


def _gappy() -> pd.DataFrame:
    # monthly: Jan..May; b's value for Mar is missing; series b starts with a gap
    dates = pd.date_range("2020-01-01", periods=5, freq="MS")
    a = [1.0, 2.0, np.nan, 4.0, 5.0]
    b = [np.nan, 20.0, 30.0, np.nan, 50.0]
    return pd.DataFrame({"id": ["a"] * 5 + ["b"] * 5, "date": list(dates) * 2, "v": a + b})


@pytest.mark.parametrize(
    ("fill", "a", "b"),
    [
        ("ffill", [1, 2, 2, 4, 5], [20, 20, 30, 30, 50]),
        ("zero", [1, 2, 0, 4, 5], [0, 20, 30, 0, 50]),
        # linear in time: Mar 1 is 29 of the 60 days from Feb 1 to Apr 1 (2020 is a leap year)
        ("interpolate", [1, 2, 2 + 2 * 29 / 60, 4, 5], [20, 20, 30, 30 + 20 * 31 / 61, 50]),
    ],
)
def test_fill_methods_stay_within_each_series(fill: str, a: list[float], b: list[float]):
    data = prepare_series(_gappy(), target="v", time_col="date", id_col="id", fill=fill)
    np.testing.assert_allclose(data.series(0)[:, 0], a, rtol=1e-6)
    np.testing.assert_allclose(data.series(1)[:, 0], b, rtol=1e-6)


def test_without_fill_the_gap_is_an_error_naming_the_row():
    with pytest.raises(UserError, match=r"row 3 \(date 2020-03-01\).*--fill"):
        prepare_series(_gappy(), target="v", time_col="date", id_col="id")


# --- files are not touched; bundled datasets; season lengths --------------------------------


def test_reading_does_not_modify_files(tmp_path: Path):
    paths = [
        _write(tmp_path, "a.csv", "\ufeff" + _text(newline="\r\n")),
        _write(tmp_path, "b.csv.gz", gzip.compress(_text(";").encode())),
        _write(tmp_path, "c.csv", "date,value\n2020-01-01,\n"),
    ]
    FRAME.to_parquet(tmp_path / "d.parquet")
    paths.append(tmp_path / "d.parquet")
    before = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in paths}
    for path in paths:
        frame, _ = load_table(path)
        with contextlib.suppress(UserError):  # c.csv has an empty cell
            prepare_series(frame, target="value", time_col="date")
    after = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in paths}
    assert after == before
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.csv.gz", "c.csv", "d.parquet"]


@pytest.mark.parametrize("name", [n for n, i in DATASETS.items() if i.kind == "series"])
def test_bundled_series_datasets(name: str):
    frame, info = load_table(name)
    assert info is DATASETS[name] and info.target and info.time_col
    data = prepare_series(frame, target=info.target, time_col=info.time_col, id_col=info.id_col)
    assert len(data.values) == len(frame) and not np.isnan(data.values).any()
    assert pd.tseries.frequencies.to_offset(data.freq) == pd.tseries.frequencies.to_offset(
        info.freq
    )
    if not info.freq.startswith("Y"):  # sunspots' 11-year cycle is not a calendar season
        assert season_length(data.freq) == info.season


@pytest.mark.parametrize(
    ("freq", "season"),
    [
        ("MS", 12), ("ME", 12), ("M", 12), ("QS-OCT", 4), ("QE", 4), ("W-SUN", 52), ("W", 52),
        ("D", 7), ("B", 5), ("h", 24), ("H", 24), ("2h", 12), ("30min", 48), ("min", 60),
        ("T", 60), ("YS", None), ("A", None), ("2D", None), (None, None), ("3MS", 4),
    ],
)  # fmt: skip
def test_season_length(freq: str | None, season: int | None):
    assert season_length(freq) == season


def test_season_length_of_an_unknown_alias_is_a_user_error():
    with pytest.raises(UserError, match="unknown frequency 'weekly'"):
        season_length("weekly")


# --- writing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.csv", "out.tsv", "out.csv.gz", "out.parquet", "d/out.pq"])
def test_write_table_round_trips(name: str, tmp_path: Path):
    frame = pd.DataFrame({"a": [0.1, 2.5, -3.0], "b": ["x", "y, z", 'q"uote']})
    path = write_table(frame, tmp_path / name)
    back, _ = load_table(path)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_write_table_keeps_a_time_index(tmp_path: Path):
    frame = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.date_range("2020-01-01", periods=2))
    frame.index.name = "date"
    back, _ = load_table(write_table(frame, tmp_path / "f.csv"))
    assert back.columns.tolist() == ["date", "v"] and back["date"][1] == "2020-01-02"


def test_write_table_refuses_to_overwrite_without_the_flag(tmp_path: Path):
    path = _write(tmp_path, "mine.csv", "precious\n")
    with pytest.raises(UserError, match="--overwrite"):
        write_table(pd.DataFrame({"a": [1]}), path)
    assert path.read_text() == "precious\n"
    write_table(pd.DataFrame({"a": [1]}), path, overwrite=True)
    assert path.read_text() == "a\n1\n"


def test_write_table_errors(tmp_path: Path):
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(UserError, match="unsupported file type '.xlsx'"):
        write_table(frame, tmp_path / "out.xlsx")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        write_table(frame, tmp_path / "dir.csv")
    blocker = _write(tmp_path, "file", "x")
    with pytest.raises(UserError, match="cannot write"):
        write_table(frame, blocker / "out.csv")


def test_a_failed_write_leaves_the_old_file_alone(tmp_path: Path):
    path = _write(tmp_path, "old.parquet", b"old bytes")
    unwritable = pd.DataFrame({"a": [object(), object()]})  # pyarrow cannot store these
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises
        write_table(unwritable, path, overwrite=True)
    assert path.read_bytes() == b"old bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["old.parquet"]


# --- through the command line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("ragged.csv", "date,value\n2020-01-01,1\n2020-01-02\n", "line 3"),
        (
            "gap.csv",
            "date,value\n" + "".join(f"2020-01-0{d},{d}\n" for d in (1, 2, 3, 5)),
            "follows",
        ),
        ("latin1.csv", "date,caf\xe9\n2020-01-01,1\n".encode("latin-1"), "UTF-8"),
    ],
)
def test_rnnkit_train_reports_a_bad_file_in_one_line(cli, name, content, expect, tmp_path):
    path = _write(tmp_path, name, content)
    result = cli("train", "--data", path, "--target", "value", "--time-col", "date",
                 "--out", tmp_path / "run", "--no-progress")  # fmt: skip
    assert_one_line_error(result)
    assert expect in result.err and name in result.err
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
