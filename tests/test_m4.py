"""M4: metrics, Naive2 and the reader against hand computations and the published figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit.errors import UserError
from rnnkit.forecasting import interval_scores
from rnnkit.forecasting.m4 import (
    PUBLISHED,
    baseline_forecasts,
    baseline_table,
    published_table,
    read_m4,
    score_m4,
    subset_info,
)
from rnnkit.forecasting.seasonal import (
    acf,
    centred_moving_average,
    naive2,
    seasonal_indices,
    seasonality_test,
)

M4_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "m4"

# --- scores on two tiny weekly series (season 1: Naive2 is the naive forecast) ---------------

# A: history lag-1 differences 1, 2, 1, 2 -> scale 1.5; B: differences 0, 2 -> scale 1
TRAIN = pd.DataFrame(
    {
        "id": ["A"] * 5 + ["B"] * 3,
        "t": [1, 2, 3, 4, 5, 1, 2, 3],
        "y": [1.0, 2.0, 4.0, 3.0, 5.0, 10.0, 10.0, 12.0],
    }
)
TEST = pd.DataFrame({"id": ["A", "A", "B", "B"], "h": [1, 2, 1, 2], "y": [6.0, 8.0, 12.0, 13.0]})
FORECASTS = pd.DataFrame(
    {
        "id": ["A", "A", "B", "B"],
        "h": [1, 2, 1, 2],
        "yhat": [5.0, 10.0, 12.0, 12.0],
        "lo_95": [4.0, 9.0, 12.0, 11.0],
        "hi_95": [7.0, 11.0, 13.0, 12.0],
    }
)


def test_smape_mase_owa_by_hand() -> None:
    result = score_m4(TRAIN, TEST, FORECASTS, "Weekly")
    smape = (200 * 1 / 11 + 200 * 2 / 18 + 0 + 200 * 1 / 25) / 4
    smape_naive2 = (200 * 1 / 11 + 200 * 3 / 13 + 0 + 200 * 1 / 25) / 4  # naive: 5, 5, 12, 12
    mase = ((1 + 2) / 2 / 1.5 + (0 + 1) / 2 / 1) / 2
    mase_naive2 = ((1 + 3) / 2 / 1.5 + (0 + 1) / 2 / 1) / 2
    assert result["smape"] == pytest.approx(smape)
    assert result["mase"] == pytest.approx(mase)
    assert result["smape_naive2"] == pytest.approx(smape_naive2)
    assert result["mase_naive2"] == pytest.approx(mase_naive2)
    assert result["owa"] == pytest.approx((smape / smape_naive2 + mase / mase_naive2) / 2)
    table = result["per_series"].set_index("id")
    assert table.loc["A", "scale"] == pytest.approx(1.5)
    assert table.loc["B", "smape"] == pytest.approx(4.0)


def test_msis_coverage_acd_by_hand() -> None:
    result = score_m4(TRAIN, TEST, FORECASTS, "Weekly")
    # A: inside (width 3); 8 below [9, 11]: 2 + 2/0.05 * 1 = 42 -> mean 22.5, / 1.5 = 15
    # B: 12 on the lower bound of [12, 13] counts as inside (width 1); 13 above [11, 12]:
    #    1 + 40 * 1 = 41 -> mean 21, / 1 = 21
    assert result["per_series"]["msis"].tolist() == pytest.approx([15.0, 21.0])
    assert result["msis"] == pytest.approx(18.0)
    assert result["coverage"] == pytest.approx(0.5)
    assert result["acd"] == pytest.approx(0.45)
    assert interval_scores.acd(np.array([1.0]), np.array([0.0]), np.array([2.0])) == (
        pytest.approx(0.05)
    )


def test_score_refuses_incomplete_forecasts() -> None:
    with pytest.raises(UserError, match="no finite forecast"):
        score_m4(TRAIN, TEST, FORECASTS.iloc[:3], "Weekly")
    with pytest.raises(UserError, match="lo_95 and hi_95"):
        score_m4(TRAIN, TEST, FORECASTS.drop(columns="hi_95"), "Weekly")
    with pytest.raises(UserError, match="unknown M4 subset"):
        score_m4(TRAIN, TEST, FORECASTS, "hourli")


# --- the seasonality test ------------------------------------------------------------------


def test_acf_by_hand() -> None:
    # centred values -1, 1, ... (6 of them): sum of squares 6; lag 1: five products of -1
    assert acf(np.array([1.0, 3, 1, 3, 1, 3]), 2) == pytest.approx([1.0, -5 / 6, 4 / 6])


def test_seasonality_test_at_its_limit() -> None:
    # alternating series, period 2: acf(1) = -(n-1)/n, acf(2) = (n-2)/n
    def limit(n: int) -> float:
        return 1.645 * math.sqrt((1 + 2 * ((n - 1) / n) ** 2) / n)

    assert limit(10) > 8 / 10  # 0.800 < 0.842: not seasonal
    assert limit(12) < 10 / 12  # 0.833 > 0.777: seasonal
    assert not seasonality_test(np.tile([1.0, 3.0], 5), 2)
    assert seasonality_test(np.tile([1.0, 3.0], 6), 2)


def test_seasonality_test_edge_rules() -> None:
    strong = np.tile(np.r_[np.ones(12), 5 * np.ones(12)], 20)  # period 24
    assert not seasonality_test(strong[:70], 24)  # under three seasons
    # R's acf stops at lag floor(10 log10 n): 23 for n = 240, 24 for n = 260
    assert not seasonality_test(strong[:240], 24)
    assert seasonality_test(strong[:260], 24)
    assert not seasonality_test(np.full(100, 3.0), 4)  # constant
    assert not seasonality_test(strong, 1)


# --- decomposition and Naive2 --------------------------------------------------------------

SEASON = np.array([0.5, 1.5, 1.2, 0.8])  # mean 1


def test_centred_moving_average_of_even_order() -> None:
    y = np.array([1.0, 3, 2, 6, 3, 9])
    trend = centred_moving_average(y, 2)  # weights 1/4, 1/2, 1/4
    assert np.isnan(trend[[0, 5]]).all()
    assert trend[1:5] == pytest.approx([2.25, 3.25, 4.25, 5.25])


def test_seasonal_indices_by_hand() -> None:
    y = np.array([1.0, 3, 2, 6, 3, 9])
    phase0 = (2 / 3.25 + 3 / 5.25) / 2  # ratios at positions 2 and 4
    phase1 = (3 / 2.25 + 6 / 4.25) / 2  # positions 1 and 3
    mean = (phase0 + phase1) / 2
    assert seasonal_indices(y, 2) == pytest.approx([phase0 / mean, phase1 / mean])
    # a pure multiplicative series gives back its own indices
    assert seasonal_indices(10 * np.resize(SEASON, 14), 4) == pytest.approx(SEASON)


def test_naive2_of_a_pure_multiplicative_series() -> None:
    y = 10 * np.resize(SEASON, 14)  # ends at phase 1 (15.0)
    assert seasonality_test(y, 4)
    # seasonally adjusted: 10 everywhere; phases 2, 3, 0, 1, 2 follow
    assert naive2(y, 5, 4) == pytest.approx([12.0, 8.0, 5.0, 15.0, 12.0])


def test_naive2_is_naive_for_a_non_seasonal_series() -> None:
    walk = 100 + np.cumsum(np.random.default_rng(0).normal(size=200))
    assert not seasonality_test(walk, 24)
    assert naive2(walk, 5, 24).tolist() == [walk[-1]] * 5
    assert naive2(walk, 3, 1).tolist() == [walk[-1]] * 3


def test_baseline_forecasts_of_a_seasonal_series() -> None:
    train = pd.DataFrame({"id": "S", "t": np.arange(1, 15), "y": 10 * np.resize(SEASON, 14)})
    test = pd.DataFrame({"id": "S", "h": [1, 2], "y": [12.0, 8.0]})
    snaive = baseline_forecasts(train, test, "Quarterly", "seasonal_naive")
    assert snaive["yhat"].tolist() == pytest.approx([12.0, 8.0])  # last season: 12, 8, 5, 15
    table = baseline_table(train, test, "Quarterly").set_index("method")
    assert table.loc["naive2", "smape"] == pytest.approx(0.0)
    assert table.loc["naive", "smape"] == pytest.approx((200 * 3 / 27 + 200 * 7 / 23) / 2)


# --- reading the official files ------------------------------------------------------------


def _wide(path: Path, rows: list[list[str]]) -> None:
    width = max(len(r) for r in rows)
    header = ",".join(f'"V{i}"' for i in range(1, width + 1))
    lines = [",".join(f'"{v}"' if v != "NA" else "NA" for v in r + ["NA"] * (width - len(r)))
             for r in rows]  # fmt: skip
    path.write_text("\n".join([header, *lines]) + "\n")


def _official(folder: Path, test_ids: tuple[str, ...] = ("W1", "W2")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _wide(folder / "Weekly-train.csv", [["W1", "1", "2.5", "3"], ["W2", "7", "8"]])
    _wide(folder / "Weekly-test.csv", [[i, *map(str, range(1, 14))] for i in test_ids])
    return folder


def test_read_official_wide_files(tmp_path: Path) -> None:
    train, test = read_m4(_official(tmp_path), "weekly")
    assert train["id"].tolist() == ["W1"] * 3 + ["W2"] * 2
    assert train["t"].tolist() == [1, 2, 3, 1, 2]
    assert train["y"].tolist() == [1.0, 2.5, 3.0, 7.0, 8.0]
    assert test.shape == (26, 3) and test["h"].tolist()[:2] == [1, 2]
    # the repository layout Dataset/Train, Dataset/Test
    _official(tmp_path / "ds" / "Train")
    (tmp_path / "ds" / "Train" / "Weekly-test.csv").rename(tmp_path / "ds" / "Test.csv")
    (tmp_path / "ds" / "Test").mkdir()
    (tmp_path / "ds" / "Test.csv").rename(tmp_path / "ds" / "Test" / "Weekly-test.csv")
    assert read_m4(tmp_path / "ds", "Weekly")[0].equals(train)


def test_read_long_files(tmp_path: Path) -> None:
    pd.DataFrame({"id": ["b", "b", "a"], "t": [2, 1, 1], "y": [2.0, 1.0, 5.0]}).to_csv(
        tmp_path / "Weekly-train-long.csv", index=False
    )
    test = pd.DataFrame({"id": np.repeat(["a", "b"], 13), "h": np.tile(np.arange(1, 14), 2)})
    test.assign(y=1.0).to_csv(tmp_path / "Weekly-test-long.csv", index=False)
    train, test_read = read_m4(tmp_path, "Weekly")
    assert train.values.tolist() == [["b", 1, 1.0], ["b", 2, 2.0], ["a", 1, 5.0]]
    assert test_read["id"].tolist()[0] == "b"  # in the order of the training file


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: d / "nowhere", "folder .*nowhere not found.*Mcompetitions/M4-methods"),
        (lambda d: d, "Weekly-train.csv not found.*Dataset/Train"),
    ],
)
def test_read_missing_folder_or_file(tmp_path: Path, setup, message: str) -> None:
    with pytest.raises(UserError, match=message):
        read_m4(setup(tmp_path), "Weekly")


def test_read_refuses_malformed_files(tmp_path: Path) -> None:
    folder = _official(tmp_path)
    train = folder / "Weekly-train.csv"
    train.write_text("series,a,b\nW1,1,2\n")
    with pytest.raises(UserError, match=r"Weekly-train.csv: not an M4 file.*columns V1, V2"):
        read_m4(folder, "Weekly")
    train.write_text('"V1","V3"\n"W1","1"\n')
    with pytest.raises(UserError, match=r"Weekly-train.csv: not the official M4 wide format"):
        read_m4(folder, "Weekly")
    _wide(train, [["W1", "1", "x2"], ["W2", "3"]])
    with pytest.raises(UserError, match=r"non-numeric value 'x2' in column V3 \(series W1\)"):
        read_m4(folder, "Weekly")
    _wide(train, [["W1", "1", "NA", "3"], ["W2", "3"]])
    with pytest.raises(UserError, match="series W1 has missing values"):
        read_m4(folder, "Weekly")
    _wide(train, [["W1", "1"], ["W2", "3"]])
    _wide(folder / "Weekly-test.csv", [["W1", "1", "2"], ["W2", "3", "4"]])
    with pytest.raises(UserError, match="2 values per series, but the Weekly horizon is 13.*Test"):
        read_m4(folder, "Weekly")


def test_read_refuses_test_of_other_series(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="do not match Weekly-train.csv.*e.g. W2.*M4-methods"):
        read_m4(_official(tmp_path, ("W1", "W3")), "Weekly")


# --- the published Naive2 figures on the real test sets ----------------------------------


@pytest.fixture(scope="module")
def m4_data() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """The real subsets, read once (or a skip when the shared data is absent)."""
    if not (M4_DIR / "Hourly-train.csv").is_file():
        pytest.skip(f"M4 data not found in {M4_DIR}")
    return {subset: read_m4(M4_DIR, subset) for subset in ("Hourly", "Weekly")}


def _published(subset: str, method: str) -> tuple[float, float]:
    row = next(r for r in PUBLISHED[subset] if r.method == method)
    assert row.smape is not None and row.mase is not None
    return row.smape, row.mase


@pytest.mark.parametrize(
    ("subset", "figures"),
    [
        ("Hourly", {"naive2": (18.383, 2.395), "seasonal_naive": (13.912, 1.193)}),
        ("Weekly", {"naive2": (9.161, 2.777), "seasonal_naive": (9.161, 2.777)}),
    ],
)
def test_published_baselines(
    subset: str, figures: dict[str, tuple[float, float]], m4_data: dict
) -> None:
    assert _published(subset, "Naive2") == figures["naive2"]
    assert _published(subset, "seasonal naive") == figures["seasonal_naive"]
    train, test = m4_data[subset]
    info = subset_info(subset)
    assert train["id"].nunique() == info.series and len(test) == info.series * info.horizon
    table = baseline_table(train, test, subset).set_index("method").to_dict("index")
    for method, (smape, mase) in figures.items():
        assert round(table[method]["smape"], 3) == pytest.approx(smape, abs=0.001)
        assert round(table[method]["mase"], 3) == pytest.approx(mase, abs=0.001)
    assert table["naive2"]["owa"] == pytest.approx(1.0)


def test_published_naive_msis_hourly(m4_data: dict) -> None:
    # R forecast's naive() 95% interval: yhat +- 1.96 sigma sqrt(h), sigma the root mean square
    # of the in-sample one-step differences
    train, test = m4_data["Hourly"]
    parts = []
    for key, y in train.groupby("id", sort=False)["y"]:
        sigma = math.sqrt(float(np.mean(np.diff(y.to_numpy()) ** 2)))
        h = np.arange(1, 49)
        half = 1.959964 * sigma * np.sqrt(h)
        last = float(y.iloc[-1])
        parts.append(
            pd.DataFrame(
                {"id": key, "h": h, "yhat": last, "lo_95": last - half, "hi_95": last + half}
            )
        )
    result = score_m4(train, test, pd.concat(parts), "Hourly")
    published = next(r.msis for r in PUBLISHED["Hourly"] if r.method == "Naive")
    assert published == 71.245
    assert round(result["msis"], 3) == pytest.approx(published, abs=0.001)
    assert result["acd"] == pytest.approx(abs(result["coverage"] - 0.95))


def test_published_table_columns() -> None:
    table = published_table("hourly")
    assert list(table.columns) == ["method", "smape", "mase", "owa", "msis", "acd"]
    assert table.set_index("method").loc["ES-RNN (Smyl, M4 winner)", "msis"] == 7.928
