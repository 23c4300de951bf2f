"""`rnnkit benchmark m4` on small files in the official M4 format (generated here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HORIZON = 48  # M4 Hourly


def write_official(folder: Path, n_series: int = 3, length: int = 24 * 14) -> None:
    """Hourly-train.csv / Hourly-test.csv in the wide format (V1 = id; train rows NA-padded)."""
    rng = np.random.default_rng(0)
    train_rows, test_rows = [], []
    for i in range(n_series):
        n = length - 24 * i  # unequal lengths, as in M4
        t = np.arange(n + HORIZON)
        y = 100 + 10 * i + 20 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, t.size)
        train_rows.append([f"H{i + 1}", *y[:n], *[np.nan] * (length - n)])
        test_rows.append([f"H{i + 1}", *y[n:]])
    columns = [f"V{k + 1}" for k in range(length + 1)]
    pd.DataFrame(train_rows, columns=columns).to_csv(folder / "Hourly-train.csv", index=False)
    test_columns = [f"V{k + 1}" for k in range(HORIZON + 1)]
    pd.DataFrame(test_rows, columns=test_columns).to_csv(folder / "Hourly-test.csv", index=False)


def test_benchmark_writes_forecasts_scores_and_table(cli, tmp_path: Path) -> None:
    data = tmp_path / "m4"
    data.mkdir()
    write_official(data)
    out = tmp_path / "run"
    result = cli(
        "benchmark", "m4", "--subset", "hourly", "--data-dir", data, "--epochs", "2",
        "--seeds", "0,1", "--out", out, "--no-progress", "--per-series", tmp_path / "worst.csv",
    )  # fmt: skip
    assert result.code == 0, result.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert [run["seed"] for run in metrics["seeds"]] == [0, 1]
    owas = [run["owa"] for run in metrics["seeds"]]
    assert metrics["mean"]["owa"] == pytest.approx(np.mean(owas))
    methods = {row["method"] for row in metrics["baselines"]}
    assert {"naive", "seasonal_naive", "naive2"} <= methods
    forecasts = pd.read_csv(out / "forecasts_seed0.csv")
    assert list(forecasts.columns[:3]) == ["id", "h", "yhat"]
    assert len(forecasts) == 3 * HORIZON
    assert sorted(forecasts["h"].unique()) == list(range(1, HORIZON + 1))
    assert np.isfinite(forecasts["yhat"]).all()
    # the figure and the per-series table (worst first) for inspection
    per_series = pd.read_csv(out / "per_series.csv")
    assert per_series["smape"].is_monotonic_decreasing
    assert (out / "examples.png").stat().st_size > 0
    assert "Naive2 (published) | 18.383 | 2.395" in (out / "table.md").read_text()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "worst.csv"), per_series)
    # calibrated intervals: MSIS, coverage and ACD recomputed here from the written forecasts
    assert list(forecasts.columns[3:]) == ["lo_80", "hi_80", "lo_95", "hi_95"]
    test = pd.read_csv(data / "Hourly-test.csv").set_index("V1")
    train = pd.read_csv(data / "Hourly-train.csv").set_index("V1")
    msis, inside_95, inside_80 = [], [], []
    for key, part in forecasts.groupby("id"):
        y = test.loc[key].to_numpy()[part["h"].to_numpy() - 1]
        history = train.loc[key].dropna().to_numpy()
        scale = np.mean(np.abs(history[24:] - history[:-24]))
        lo, hi = part["lo_95"].to_numpy(), part["hi_95"].to_numpy()
        score = hi - lo + 40 * np.clip(lo - y, 0, None) + 40 * np.clip(y - hi, 0, None)
        msis.append(score.mean() / scale)
        inside_95 += list((lo <= y) & (y <= hi))
        inside_80 += list((part["lo_80"].to_numpy() <= y) & (y <= part["hi_80"].to_numpy()))
    seed0 = metrics["seeds"][0]
    assert seed0["msis"] == pytest.approx(np.mean(msis))  # equal lengths: series mean = point mean
    assert seed0["coverage"] == pytest.approx(np.mean(inside_95))
    assert seed0["coverage_80"] == pytest.approx(np.mean(inside_80))
    assert seed0["acd"] == pytest.approx(abs(np.mean(inside_95) - 0.95))
    table = (out / "table.md").read_text()
    assert "MSIS | ACD" in table and "| 7.928 | 0.040 |" in table  # ES-RNN's published row


def test_benchmark_bad_folder_is_one_line_and_writes_nothing(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli("benchmark", "m4", "--subset", "hourly", "--data-dir", tmp_path, "--out", out)
    assert result.code == 2
    assert result.err.startswith("rnnkit: error:") and result.err.count("\n") == 1
    assert "Mcompetitions/M4-methods" in result.err
    assert not out.exists()
    flags = ("--data-dir", tmp_path, "--out", out, "--per-series", tmp_path / "t.json")
    result = cli("benchmark", "m4", "--subset", "hourly", *flags)
    assert result.code == 2 and "--per-series" in result.err and result.err.count("\n") == 1
    assert not out.exists()
