"""The bundled datasets: registry, files, loaders and the generated set's recipe."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from rnnkit.data import datasets as ds
from rnnkit.errors import UserError

SERIES = [i.name for i in ds.list_datasets() if i.kind == "series"]
TEXTS = [i.name for i in ds.list_datasets() if i.kind == "text"]
CLASSIFICATION = [i.name for i in ds.list_datasets() if i.kind == "classification"]

# name -> (rows, first date, last date)
EXPECTED_SERIES = {
    "airpassengers": (144, "1949-01-01", "1960-12-01"),
    "co2": (1774, "1968-01-06", "2001-12-29"),
    "sunspots": (309, "1700-01-01", "2008-01-01"),
    "births": (3653, "1979-01-01", "1988-12-31"),
    "seatbelts": (192, "1969-01-01", "1984-12-01"),  # rows of each of its series
}


def test_registry_is_consistent():
    infos = ds.list_datasets()
    assert [i.name for i in infos] == list(ds.DATASETS)
    assert len(SERIES) >= 3 and TEXTS and CLASSIFICATION
    assert set(SERIES) == set(EXPECTED_SERIES)
    for info in infos:
        assert ds.DATASETS[info.name] is info
        assert info.kind in ("series", "text", "classification")
        assert ds.is_dataset(info.name)
        assert info.description and "\n" not in info.description
        assert info.source and info.licence
        path = ds.dataset_path(info.name)
        assert path.is_file() and path.name == info.filename
        assert path.parent.name == "bundled"
        assert path.stat().st_size < 1_000_000
        if info.kind == "series":
            assert info.target and info.time_col and info.freq and info.season
        elif info.kind == "classification":
            assert info.target and info.time_col is None and info.freq is None
        else:
            assert info.target is None and info.freq is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        infos[0].name = "x"  # type: ignore[misc]


def test_bundle_stays_small():
    total = sum(ds.dataset_path(n).stat().st_size for n in ds.DATASETS)
    assert total < 1_500_000


def test_bundled_folder_documents_every_file():
    folder = ds.dataset_path("airpassengers").parent
    sources = (folder / "SOURCES.md").read_text(encoding="utf-8")
    for info in ds.list_datasets():
        assert info.filename in sources
    data_files = {p.name for p in folder.iterdir() if p.suffix in (".csv", ".txt")}
    assert data_files == {i.filename for i in ds.list_datasets()}


@pytest.mark.parametrize("name", SERIES)
def test_series_is_regular_and_complete(name):
    info = ds.DATASETS[name]
    table = ds.load_series(name)
    if info.id_col is None:
        assert list(table.columns) == [info.time_col, info.target]
        check_one_series(info, table)
        return
    assert list(table.columns) == [info.time_col, info.id_col, info.target, *info.covariates]
    for _, frame in table.groupby(info.id_col):
        check_one_series(info, frame.reset_index(drop=True))


def check_one_series(info: ds.DatasetInfo, frame: pd.DataFrame) -> None:
    name = info.name
    times = frame[info.time_col]
    assert pd.api.types.is_datetime64_any_dtype(times)
    assert frame[info.target].dtype == np.float64
    assert not frame.isna().any().any()
    assert np.isfinite(frame[info.target]).all()
    rows, first, last = EXPECTED_SERIES[name]
    assert len(frame) == rows
    assert times.iloc[0] == pd.Timestamp(first) and times.iloc[-1] == pd.Timestamp(last)
    expected = pd.date_range(first, periods=rows, freq=info.freq)
    assert (pd.DatetimeIndex(times) == expected).all()
    pd.DatetimeIndex(times, freq=info.freq)  # raises unless the index conforms to freq
    assert info.season is not None and rows >= 4 * info.season


def test_airpassengers_classic_values():
    frame = ds.load_series("airpassengers")
    values = frame["passengers"].to_numpy()
    first_year = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118]
    assert values[:12].tolist() == first_year
    assert values[-12:].tolist() == [417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432]
    assert values[-1] == 432 and values.max() == 622 and values.sum() == 40363


def test_other_series_spot_values():
    assert ds.load_series("co2")["co2"].iloc[0] == pytest.approx(322.4)
    sun = ds.load_series("sunspots").set_index("date")["sunspots"]
    assert sun[pd.Timestamp("1700-01-01")] == 5.0 and sun[pd.Timestamp("2008-01-01")] == 2.9
    births = ds.load_series("births")
    weekday = births["date"].dt.day_of_week
    # fewer births at weekends: the weekly season is real
    assert births["births"][weekday >= 5].mean() < 0.85 * births["births"][weekday < 5].mean()


def test_seatbelts_published_values_and_the_law():
    """Harvey & Durbin (1986): the law of 31 January 1983 cut front-seat casualties (drivers,
    front passengers), not rear-seat ones; first drivers' value 1687, PetrolPrice 0.102972."""
    frame = ds.load_series("seatbelts")
    assert sorted(frame["seat"].unique()) == ["driver", "front", "rear"]
    driver = frame[frame["seat"] == "driver"].set_index("date")
    assert driver["casualties"].iloc[0] == 1687 and driver["petrol_price"].iloc[0] == 0.102972
    law = driver["law"]
    assert law[:"1983-01-01"].eq(0).all() and law["1983-02-01":].eq(1).all()

    def change(seat: str) -> float:
        series = frame[frame["seat"] == seat].set_index("date")["casualties"]
        return series["1983-02-01":"1984-01-01"].mean() / series["1982-02-01":"1983-01-01"].mean()

    assert change("driver") < 0.85 and change("front") < 0.8 and change("rear") > 0.95
    for seat, part in frame.groupby("seat"):
        assert part["position"].nunique() == 1  # a static covariate
        assert part["position"].iloc[0] == ("rear" if seat == "rear" else "front")


@pytest.mark.parametrize("name", TEXTS)
def test_text_loads(name):
    text = ds.load_text(name)
    raw = ds.dataset_path(name).read_bytes()
    assert raw.decode("utf-8") == text
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
    assert 100_000 <= len(text) < 600_000
    assert "gutenberg" not in text.lower()


def test_botchan_text():
    text = ds.load_text("botchan")
    assert len(text) == 255_141
    assert f"{len(text):,}" in ds.DATASETS["botchan"].description
    assert text.startswith("BOTCHAN (MASTER DARLING)")
    assert text.endswith("\n")
    assert text.isascii()


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_loads(name):
    info = ds.DATASETS[name]
    frame = ds.load_classification(name)
    assert frame.columns[0] == info.target == "label"
    assert list(frame.columns[1:]) == [f"t{j}" for j in range(frame.shape[1] - 1)]
    assert frame["label"].notna().all()
    assert frame["label"].nunique() >= 3
    sequences, labels = ds.classification_sequences(frame)
    assert len(sequences) == len(labels) == len(frame)
    lengths = {len(s) for s in sequences}
    assert len(lengths) > 10  # genuinely variable length
    assert all(np.isfinite(s).all() for s in sequences)


def test_shapes_file_matches_recipe():
    shipped = ds.load_classification("shapes")
    made = ds.make_shapes()
    assert list(shipped.columns) == list(made.columns)
    assert shipped["label"].tolist() == made["label"].tolist()
    a = shipped.drop(columns="label").to_numpy()
    b = made.drop(columns="label").to_numpy()
    assert (np.isnan(a) == np.isnan(b)).all()
    # 2-decimal rounding could differ in the last digit across platforms' libm
    np.testing.assert_allclose(a, b, rtol=0, atol=0.0101, equal_nan=True)
    text = ds.dataset_path("shapes").read_text(encoding="utf-8")
    assert ds.shapes_csv_text(made).splitlines()[:3] == text.splitlines()[:3]


def test_shapes_shape():
    frame = ds.load_classification("shapes")
    sequences, labels = ds.classification_sequences(frame)
    assert len(frame) == 800
    assert sorted(set(labels)) == sorted(ds.SHAPES_CLASSES)
    assert pd.Series(labels).value_counts().tolist() == [200] * 4
    lengths = np.array([len(s) for s in sequences])
    assert lengths.min() == 30 and lengths.max() == 120
    assert frame.shape[1] == 1 + 120


def test_make_shapes_options():
    small = ds.make_shapes(10, seed=1, min_len=5, max_len=8)
    assert small.shape == (10, 9)
    assert small["label"].value_counts().to_dict() == {
        "sine": 3,
        "square": 3,
        "sawtooth": 2,
        "random_walk": 2,
    }
    pd.testing.assert_frame_equal(small, ds.make_shapes(10, seed=1, min_len=5, max_len=8))
    assert not small.equals(ds.make_shapes(10, seed=2, min_len=5, max_len=8))
    with pytest.raises(ValueError):
        ds.make_shapes(10, min_len=9, max_len=8)


def test_classification_sequences_rejects_gaps():
    frame = pd.DataFrame({"label": ["a", "b"], "t0": [1.0, 2.0], "t1": [np.nan, 3.0]})
    sequences, labels = ds.classification_sequences(frame)
    assert [s.tolist() for s in sequences] == [[1.0], [2.0, 3.0]]
    assert labels.tolist() == ["a", "b"]
    gap = pd.DataFrame({"label": ["a"], "t0": [np.nan], "t1": [1.0]})
    with pytest.raises(UserError, match="row 1"):
        ds.classification_sequences(gap)
    with pytest.raises(UserError, match="no 'y' column"):
        ds.classification_sequences(frame, label_col="y")


def test_unknown_name_lists_choices():
    assert not ds.is_dataset("nope")
    for call in (ds.dataset_path, ds.load_series, ds.load_text, ds.load_classification):
        with pytest.raises(UserError) as caught:
            call("nope")
        message = str(caught.value)
        assert "unknown dataset 'nope'" in message
        assert "choose one of: " + ", ".join(sorted(ds.DATASETS)) in message
        assert "\n" not in message


def test_wrong_kind_is_a_user_error():
    with pytest.raises(UserError, match="'botchan' is a text dataset"):
        ds.load_series("botchan")
    with pytest.raises(UserError, match="classification datasets: shapes"):
        ds.load_classification("airpassengers")
    with pytest.raises(UserError, match="text datasets: botchan"):
        ds.load_text("shapes")
