"""`rnnkit train / predict / backtest / datasets` end to end, and bad input as one-line errors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import assert_one_line_error

TINY = ["--epochs", "1", "--hidden-size", "8", "--no-progress", "--threads", "1"]


def write_csv(path: Path, n: int = 40) -> Path:
    dates = pd.date_range("2010-01-01", periods=n, freq="MS")
    y = 50 + np.arange(n) + 5 * np.sin(np.arange(n))
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "sales": y}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny trained run on AirPassengers, shared by the predict tests."""
    from rnnkit.cli import main

    out = tmp_path_factory.mktemp("runs") / "air"
    code = main(["train", "--data", "airpassengers", "--test-size", "24", *TINY, "--out", str(out)])
    assert code == 0
    return out


def test_train_writes_the_run_directory(run: Path) -> None:
    for name in ("model.safetensors", "model.json", "config.json", "history.json", "forecast.png"):
        assert (run / name).stat().st_size > 0, name
    metrics = json.loads((run / "metrics.json").read_text())
    assert list(metrics["test"]) == ["model", "naive", "seasonal_naive", "drift", "naive2"]
    for scores in metrics["test"].values():
        assert {"mae", "rmse", "mase", "smape", "mape", "owa"} <= set(scores)
    assert {"coverage", "acd", "msis"} <= set(metrics["test"]["model"])  # calibrated intervals
    assert metrics["test_points"] == 24 and metrics["season"] == 12
    config = json.loads((run / "config.json").read_text())
    assert config["forecaster"]["epochs"] == 1 and "torch" in config["versions"]
    model = json.loads((run / "model.json").read_text())
    assert model["kind"] == "forecaster" and model["frequency"] == "MS"


def test_predict_prints_and_writes_but_never_overwrites(cli, run: Path, tmp_path: Path) -> None:
    result = cli("predict", run, "--steps", "3")
    assert result.code == 0, result.err
    assert "1961-01-01" in result.out and "forecast" in result.out  # after the file's end
    out = tmp_path / "f.csv"
    assert cli("predict", run, "--steps", "3", "--out", out).code == 0
    assert pd.read_csv(out).shape == (3, 6)  # date, forecast and the calibrated intervals
    out.write_text("mine")
    failed = cli("predict", run, "--steps", "3", "--out", out)
    assert_one_line_error(failed)
    assert "--overwrite" in failed.err and out.read_text() == "mine"
    assert cli("predict", run, "--steps", "2", "--out", out, "--overwrite").code == 0


def test_predict_from_new_data_and_bad_steps(cli, run: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(Path(__file__).parents[1] / "rnnkit/data/bundled/airpassengers.csv")
    frame.iloc[:100].to_csv(tmp_path / "part.csv", index=False)
    result = cli("predict", run, "--data", tmp_path / "part.csv", "--steps", "2")
    assert result.code == 0 and "1957-05-01" in result.out
    assert_one_line_error(cli("predict", run, "--steps", "0"))


def test_probabilistic_train_reports_coverage_and_resume_continues(cli, tmp_path: Path) -> None:
    out = tmp_path / "q"
    args = ["--data", write_csv(tmp_path / "s.csv"), "--target", "sales", "--window", "8"]
    result = cli(
        "train", *args, "--likelihood", "quantile", "--model", "classic", *TINY, "--out", out
    )
    assert result.code == 0, result.err
    coverage = json.loads((out / "metrics.json").read_text())["test"]["model"]["coverage"]
    assert set(coverage) == {"80", "95"}
    before = json.loads((out / "metrics.json").read_text())
    resumed = cli("train", "--resume", out)  # the run had finished: it reloads, trains no more
    assert resumed.code == 0, resumed.err
    after = json.loads((out / "metrics.json").read_text())
    assert after["test"]["model"]["mase"] == pytest.approx(before["test"]["model"]["mase"])
    assert after["test"]["model"]["coverage"] == before["test"]["model"]["coverage"]


def test_backtest_and_datasets(cli, tmp_path: Path) -> None:
    out = tmp_path / "bt"
    result = cli("backtest", "--data", "airpassengers", "--folds", "2", *TINY, "--out", out)
    assert result.code == 0, result.err
    summary = json.loads((out / "backtest.json").read_text())
    assert len(summary["folds"]) == 2 and "seasonal_naive" in summary["mean"]
    assert (out / "backtest.png").stat().st_size > 0
    listing = cli("datasets")
    for name in ("airpassengers", "co2", "sunspots", "births", "botchan", "shapes"):
        assert name in listing.out
    assert "classification" in listing.out and "licence" in listing.out


def bad_files(tmp: Path) -> dict[str, Path]:
    good = pd.read_csv(write_csv(tmp / "good.csv"))
    files = {}
    text = good.astype({"sales": object})
    text.loc[5, "sales"] = "twelve"
    files["text"] = text
    files["duplicate"] = pd.concat([good.iloc[:10], good.iloc[9:]])
    files["irregular"] = good.drop(index=[7, 8, 20])
    for name, frame in files.items():
        frame.to_csv(tmp / f"{name}.csv", index=False)
    return {name: tmp / f"{name}.csv" for name in files}


@pytest.mark.parametrize(
    "case,needle",
    [
        ("column", "did you mean 'sales'"),
        ("text", "twelve"),
        ("duplicate", "2010-10-01"),
        ("irregular", "2010"),
        ("short", "window"),
        ("missing", "no such file"),
        ("bidirectional", "bidirectional"),
    ],
)
def test_bad_train_input_is_one_line_exit_2(cli, tmp_path: Path, case: str, needle: str) -> None:
    data = {**bad_files(tmp_path), "column": write_csv(tmp_path / "c.csv")}.get(case)
    args = ["--data", data or write_csv(tmp_path / "ok.csv"), "--target", "sales"]
    args += ["--time-col", "date"]
    extra = {
        "column": ["--target", "sale"],
        "short": ["--window", "40"],
        "missing": ["--data", tmp_path / "nope.csv"],
        "bidirectional": ["--bidirectional"],
    }.get(case, [])
    result = cli("train", *args, *extra, *TINY, "--out", tmp_path / "o")
    assert_one_line_error(result)
    assert needle in result.err


def test_bad_checkpoints_are_one_line_exit_2(cli, run: Path, tmp_path: Path) -> None:
    import shutil

    cases = {}
    for name in ("truncated", "foreign", "pickle"):
        shutil.copytree(run, tmp_path / name)
        cases[name] = tmp_path / name
    weights = cases["truncated"] / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    (cases["foreign"] / "model.json").write_text(json.dumps({"hello": "world"}))
    (cases["pickle"] / "model.safetensors").write_bytes(pickle.dumps({"w": [1, 2]}))
    for folder in cases.values():
        result = cli("predict", folder, "--steps", "2")
        assert_one_line_error(result)
    assert_one_line_error(cli("predict", tmp_path / "nothing", "--steps", "2"))
