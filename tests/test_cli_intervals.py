"""Calibrated intervals and M4 scores through the command line: metrics.json recomputed from
the forecasts, the per-series tables, and the new flags' hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit.forecasting.seasonal import naive2
from tests.conftest import assert_one_line_error

TINY = ["--epochs", "2", "--hidden-size", "8", "--no-progress", "--threads", "1"]
TEST = 6


def write_shops(path: Path, n: int = 60) -> Path:
    """Two positive monthly series in long format."""
    rng = np.random.default_rng(1)
    t = np.arange(n)
    frames = [
        pd.DataFrame(
            {
                "date": pd.date_range("2010-01-01", periods=n, freq="MS").strftime("%Y-%m-%d"),
                "shop": shop,
                "y": base + t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n),
            }
        )
        for shop, base in (("a", 50.0), ("b", 120.0))
    ]
    pd.concat(frames).to_csv(path, index=False)
    return path


DATA = ["--target", "y", "--time-col", "date", "--id-col", "shop"]


def test_train_metrics_recomputed_from_the_forecasts(cli, tmp_path: Path) -> None:
    data, run, table = write_shops(tmp_path / "shops.csv"), tmp_path / "run", tmp_path / "ps.csv"
    flags = ["--test-size", TEST, "--per-series", table, *TINY, "--out", run]
    result = cli("train", "--data", data, *DATA, *flags)
    assert result.code == 0, result.err
    metrics = json.loads((run / "metrics.json").read_text())
    model, season = metrics["test"]["model"], metrics["season"]
    # the held-out forecasts, as predict gives them from the training part
    frame = pd.read_csv(data)
    train = frame.groupby("shop").head(len(frame) // 2 - TEST)
    train.to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "f.csv"
    assert (
        cli("predict", run, "--data", tmp_path / "train.csv", "--steps", TEST, "--out", out).code
        == 0
    )
    forecasts = pd.read_csv(out)
    inside, msis, smape, mase, smape2, mase2 = {"80": [], "95": []}, [], [], [], [], []
    for shop, f in forecasts.groupby("shop"):
        y = frame[frame["shop"] == shop]["y"].to_numpy()
        history, truth = y[:-TEST], y[-TEST:]
        for level in ("80", "95"):
            lo, hi = f[f"lo_{level}"].to_numpy(), f[f"hi_{level}"].to_numpy()
            inside[level] += list((lo <= truth) & (truth <= hi))
        lo, hi = f["lo_95"].to_numpy(), f["hi_95"].to_numpy()
        scale = np.mean(np.abs(history[season:] - history[:-season]))
        score = hi - lo + 40 * np.clip(lo - truth, 0, None) + 40 * np.clip(truth - hi, 0, None)
        msis.append(score.mean() / scale)
        point, reference = f["forecast"].to_numpy(), naive2(history, TEST, season)
        for p, s_out, m_out in ((point, smape, mase), (reference, smape2, mase2)):
            s_out.append(np.mean(200 * np.abs(truth - p) / (np.abs(truth) + np.abs(p))))
            m_out.append(np.mean(np.abs(truth - p)) / scale)
    for level, nominal in (("80", 0.8), ("95", 0.95)):
        assert model["coverage"][level] == pytest.approx(np.mean(inside[level]))
        assert model["acd"][level] == pytest.approx(abs(np.mean(inside[level]) - nominal))
    assert model["msis"] == pytest.approx(np.mean(msis), rel=1e-5)
    owa = (np.mean(smape) / np.mean(smape2) + np.mean(mase) / np.mean(mase2)) / 2
    assert model["owa"] == pytest.approx(owa, rel=1e-5)
    assert metrics["test"]["naive2"]["owa"] == pytest.approx(1.0)
    per_series = pd.read_csv(table)
    assert sorted(per_series["id"]) == ["a", "b"] and per_series["mase"].is_monotonic_decreasing
    assert {"msis", "coverage_80", "coverage_95", "mase_naive2"} <= set(per_series.columns)
    assert np.mean(per_series["msis"]) == pytest.approx(model["msis"], rel=1e-5)


def test_backtest_reports_intervals_owa_and_the_per_series_table(cli, tmp_path: Path) -> None:
    data, out, table = write_shops(tmp_path / "shops.csv"), tmp_path / "bt", tmp_path / "ps.csv"
    flags = ["--folds", "2", "--test-size", TEST, "--horizon", TEST, "--per-series", table]
    flags += [*TINY, "--out", out]
    result = cli("backtest", "--data", data, *DATA, *flags)
    assert result.code == 0, result.err
    mean = json.loads((out / "backtest.json").read_text())["mean"]
    assert {"coverage", "acd", "msis", "owa"} <= set(mean["model"])
    assert mean["naive2"]["owa"] == pytest.approx(1.0)
    per_series = pd.read_csv(table)
    assert len(per_series) == 4 and sorted(per_series["fold"].unique()) == [1, 2]
    assert "OWA (vs Naive2)" in result.out and "MSIS" in result.out


def test_calibration_none_keeps_the_point_forecast_and_drops_the_intervals(
    cli, tmp_path: Path
) -> None:
    data = write_shops(tmp_path / "shops.csv")
    outputs = {}
    for calibration in ("conformal", "none"):
        run = tmp_path / calibration
        flags = ["--calibration", calibration, "--test-size", TEST, *TINY, "--out", run]
        assert cli("train", "--data", data, *DATA, *flags).code == 0
        assert cli("predict", run, "--steps", 3, "--out", tmp_path / f"{calibration}.csv").code == 0
        outputs[calibration] = pd.read_csv(tmp_path / f"{calibration}.csv")
        saved = json.loads((run / "model.json").read_text())["calibration"]
        assert (saved is None) == (calibration == "none")
    assert list(outputs["none"].columns) == ["date", "shop", "forecast"]
    pd.testing.assert_series_equal(outputs["none"]["forecast"], outputs["conformal"]["forecast"])


@pytest.mark.parametrize(
    "case,needle",
    [
        ("calibration", "calibration"),
        ("exists", "already exists"),
        ("folder", "folder"),
        ("suffix", ".csv or .parquet"),
        ("no-test", "--test-size"),
    ],
)
def test_bad_interval_flags_are_one_line_exit_2(
    cli, tmp_path: Path, case: str, needle: str
) -> None:
    data, run = write_shops(tmp_path / "shops.csv"), tmp_path / "run"
    existing = tmp_path / "old.csv"
    existing.write_text("keep me\n")
    (tmp_path / "dir.csv").mkdir()
    extra = {
        "calibration": ["--calibration", "magic"],
        "exists": ["--per-series", existing],
        "folder": ["--per-series", tmp_path / "dir.csv"],
        "suffix": ["--per-series", tmp_path / "t.json"],
        "no-test": ["--per-series", tmp_path / "new.csv", "--test-size", "0"],
    }[case]
    for command in ("train", "backtest") if case != "no-test" else ("train",):
        sizes = ["--test-size", TEST, "--horizon", TEST]
        result = cli(command, "--data", data, *DATA, *sizes, *extra, *TINY, "--out", run)
        assert_one_line_error(result)
        assert needle in result.err
        assert not run.exists() and existing.read_text() == "keep me\n"


def test_a_malformed_saved_calibration_is_one_line_exit_2(cli, tmp_path: Path) -> None:
    data, run = write_shops(tmp_path / "shops.csv"), tmp_path / "run"
    assert cli("train", "--data", data, *DATA, "--test-size", TEST, *TINY, "--out", run).code == 0
    meta = json.loads((run / "model.json").read_text())
    meta["calibration"]["widths"] = "wide"
    (run / "model.json").write_text(json.dumps(meta))
    result = cli("predict", run, "--steps", 3)
    assert_one_line_error(result)
    assert "calibration" in result.err
