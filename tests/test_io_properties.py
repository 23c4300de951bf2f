"""Property tests: random numeric tables survive the CSV reader in every dialect it accepts,
regular date ranges come back with their frequency, and season lengths follow the multiple."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.tseries.frequencies import to_offset

from rnnkit.data.io import load_table, prepare_series, season_length
from rnnkit.errors import UserError

SETTINGS = settings(max_examples=50, deadline=None)
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(min_value=-(10**12), max_value=10**12).map(float),
)


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    columns = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
    rows = draw(st.integers(min_value=1, max_value=20))
    cells = draw(st.lists(NUMBERS, min_size=rows * len(columns), max_size=rows * len(columns)))
    return pd.DataFrame(np.array(cells).reshape(rows, len(columns)), columns=columns)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@SETTINGS
@given(
    frame=tables(),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    bom=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
    trailing=st.sampled_from(["", "\n", "\n\n"]),
)
def test_numeric_tables_read_back_equal(
    folder: Path, frame: pd.DataFrame, sep: str, bom: bool, newline: str, trailing: str
):
    # written by hand (repr round-trips floats exactly), not by pandas, so the reader is not
    # only checked against its own library's writer
    lines = [sep.join(frame.columns)] + [
        sep.join(repr(float(x)) for x in row) for row in frame.to_numpy()
    ]
    text = newline.join(lines) + newline + trailing
    path = folder / "table.csv"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
    back, info = load_table(path)
    assert info is None
    assert list(back.columns) == list(frame.columns)
    np.testing.assert_allclose(back.to_numpy(dtype=np.float64), frame.to_numpy(), rtol=1e-15)
    first = str(frame.columns[0])
    finite = np.abs(frame[first].to_numpy()) <= 1e15
    if finite.all():
        data = prepare_series(back, target=first)
        np.testing.assert_array_equal(data.values[:, 0], frame[first].to_numpy(np.float32))
    else:
        with pytest.raises(UserError, match="too large"):
            prepare_series(back, target=first)


ALIASES = ["D", "B", "W-SUN", "W-WED", "MS", "ME", "QS", "QE", "YS", "h", "30min", "2h", "3D"]


@SETTINGS
@given(
    alias=st.sampled_from(ALIASES),
    start=st.dates(
        min_value=pd.Timestamp("1950-01-01").date(), max_value=pd.Timestamp("2050-01-01").date()
    ),
    periods=st.integers(min_value=4, max_value=40),
    drop=st.integers(min_value=1, max_value=38),
)
def test_regular_dates_keep_their_frequency_and_a_gap_is_named(
    folder: Path, alias: str, start: object, periods: int, drop: int
):
    dates = pd.date_range(pd.Timestamp(start), periods=periods, freq=alias)
    path = folder / "dates.csv"
    rows = "".join(f"{d.isoformat()},{k}\n" for k, d in enumerate(dates))
    path.write_text("time,value\n" + rows, encoding="utf-8")
    frame, _ = load_table(path)
    data = prepare_series(frame, target="value", time_col="time")
    # the inferred frequency generates the same times (4 business days may also be 'D')
    assert pd.date_range(dates[0], periods=periods, freq=data.freq).equals(dates)
    assert data.times[0].equals(dates) and data.times[0].freq == to_offset(data.freq)
    if alias != "B":
        assert to_offset(data.freq) == to_offset(alias)
    drop = 1 + drop % (periods - 2)  # an interior row: the gap is between two kept rows
    path.write_text(
        "time,value\n" + "".join(rows.splitlines(True)[:drop] + rows.splitlines(True)[drop + 1 :])
    )
    frame, _ = load_table(path)
    with pytest.raises(UserError) as caught:
        prepare_series(frame, target="value", time_col="time")
    message = str(caught.value)
    if "follows" in message and alias != "B":  # the gap is named by its two sides; (a few
        # business days either side of a gap may also be read as daily, so B is not checked)
        assert f"{_shown(dates[drop + 1])} follows {_shown(dates[drop - 1])}" in message, message
    else:  # too few rows left to tell (only possible for the shortest ranges)
        assert "not regular" in message or "--freq" in message, message


def _shown(stamp: pd.Timestamp) -> str:
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)


BASES = {"MS": 12, "ME": 12, "QS": 4, "QE": 4, "W-SUN": 52, "D": 7, "B": 5, "h": 24}


@SETTINGS
@given(base=st.sampled_from(sorted(BASES)), n=st.integers(min_value=1, max_value=60))
def test_season_length_divides_by_the_multiple(base: str, n: int):
    season = season_length(f"{n}{base}")
    whole, rest = divmod(BASES[base], n)
    assert season == (whole if rest == 0 and whole > 1 else None)


@SETTINGS
@given(
    pair=st.sampled_from(
        [("H", "h"), ("T", "min"), ("S", "s"), ("M", "ME"), ("Q", "QE"), ("A", "YE")]
    ),
    n=st.integers(min_value=1, max_value=12),
)
def test_old_aliases_mean_what_the_new_ones_mean(pair: tuple[str, str], n: int):
    old, new = pair
    assert season_length(f"{n}{old}") == season_length(f"{n}{new}")


@SETTINGS
@given(minutes=st.integers(min_value=1, max_value=24 * 60))
def test_sub_daily_seasons_cover_a_whole_day_hour_or_minute(minutes: int):
    season = season_length(f"{minutes}min")
    if season is not None:
        span = pd.Timedelta(minutes=minutes) * season
        assert span in (pd.Timedelta(days=1), pd.Timedelta(hours=1))
        assert 1 < season <= 168
