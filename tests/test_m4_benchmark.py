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
        "--seeds", "0,1", "--out", out, "--no-progress",
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


def test_benchmark_bad_folder_is_one_line_and_writes_nothing(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli("benchmark", "m4", "--subset", "hourly", "--data-dir", tmp_path, "--out", out)
    assert result.code == 2
    assert result.err.startswith("rnnkit: error:") and result.err.count("\n") == 1
    assert "Mcompetitions/M4-methods" in result.err
    assert not out.exists()
