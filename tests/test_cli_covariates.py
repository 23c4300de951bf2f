"""Covariates through the command line: `rnnkit train --future-covariates --static-covariates`,
`rnnkit predict --future FILE`, `rnnkit export` (the covariates become graph inputs), and every
malformed input met with one line on stderr and exit code 2, nothing written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tests.conftest import assert_one_line_error
from tests.test_covariates import future_rows, promo_table
from tests.test_export import assert_close, onnx_run, run_main, torchscript_meta

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
STEPS = 9  # more than the horizon (7): the window slides over its own forecasts
TRAIN = ("--target", "sales", "--time-col", "date", "--id-col", "store", "--horizon", "7")
FAST = ("--epochs", "2", "--hidden-size", "8", "--device", "cpu", "--no-progress")
COVARIATES = ("--future-covariates", "promo", "--static-covariates", "region,size")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(run, data file, future file): a run with a future, a categorical and a numeric static
    covariate, calendar off (its features are tested by hand in test_covariates.py)."""
    folder = tmp_path_factory.mktemp("cli-covariates")
    table = promo_table(length=120)
    data, future = folder / "sales.csv", folder / "future.csv"
    table.to_csv(data, index=False)
    future_rows(table, STEPS).assign(promo=[1.0, 0.0, 0.0] * STEPS).to_csv(future, index=False)
    run = folder / "run"
    code = run_main(
        "train", "--data", data, *TRAIN, *COVARIATES, "--calendar", "off", *FAST, "--out", run
    )
    assert code == 0
    return run, data, future


def predicted(cli, run: Path, future: Path, out: Path) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    result = cli("predict", run, "--steps", STEPS, "--future", future, "--out", out)
    assert result.code == 0, result.err
    return pd.read_csv(out)


def test_train_predict_with_future_values(made, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, _, future = made
    table = predicted(cli, run, future, tmp_path / "f.csv")
    assert len(table) == 3 * STEPS and set(table["store"]) == {"s0", "s1", "s2"}
    saved = json.loads((run / "model.json").read_text())["network"]["covariates"]
    assert saved["known"] == ["promo"] and saved["static_levels"] == [["north", "south"], []]
    other = tmp_path / "future0.csv"
    pd.read_csv(future).assign(promo=0.0).to_csv(other, index=False)
    assert not np.allclose(
        predicted(cli, run, other, tmp_path / "g.csv")["forecast"], table["forecast"]
    )


def graph_inputs(made, meta: dict) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """The export's inputs built from the files and its metadata alone, as a user would."""
    _, data, future = made
    table, ahead = pd.read_csv(data), pd.read_csv(future)
    w = meta["window"]
    scaling, specs = meta["scaling"], {i["name"]: i for i in meta["inputs"]}
    rows, windows, known, static = [], [], [], []
    for store, group in table.groupby("store"):
        y = group["sales"].to_numpy("float32")[-w:]
        windows.append(np.stack([y, np.ones_like(y)], axis=-1))
        rows.append(scaling["ids"].index(store))
        promo = group["promo"].to_numpy("float32")[-w:]
        later = ahead[ahead["store"] == store]["promo"].to_numpy("float32")
        known.append(np.concatenate([promo, later])[:, None])
        region, size = group["region"].iloc[0], group["size"].iloc[0]
        categories = specs["static"]["categories"][0]
        static.append([categories.index(region), size])
    return {
        "window": np.stack(windows),
        "loc": np.asarray(scaling["loc"], np.float32)[rows],
        "scale": np.asarray(scaling["scale"], np.float32)[rows],
        "known": np.stack(known),
        "static": np.asarray(static, np.float32),
    }


def test_export_takes_the_covariates_as_inputs(made, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, _, future = made
    table = predicted(cli, run, future, tmp_path / "f.csv")
    path = tmp_path / "f.pt"
    assert run_main("export", run, "--format", "torchscript", "--steps", STEPS, "--out", path) == 0
    model, meta = torchscript_meta(path)
    assert meta["input_names"] == ["window", "loc", "scale", "known", "static"]
    names = meta["output_names"]
    assert names[0] == "forecast" and "lo_95" in names  # the calibrated intervals too
    want = [table[n].to_numpy().reshape(3, STEPS) for n in names]
    inputs = graph_inputs(made, meta)
    with torch.no_grad():
        got = model(*(torch.from_numpy(inputs[n]) for n in meta["input_names"]))
    for mine, theirs in zip(got, want, strict=True):
        assert_close(mine.numpy(), theirs)
    pytest.importorskip("onnxruntime")
    path = tmp_path / "f.onnx"
    assert run_main("export", run, "--format", "onnx", "--steps", STEPS, "--out", path) == 0
    _, got_onnx = onnx_run(path, inputs)
    for mine, theirs in zip(got_onnx, want, strict=True):
        assert_close(mine, theirs)


FUTURE_FAULTS = {
    "missing-step": lambda f: f.drop(index=4),
    "missing-series": lambda f: f[f["store"] != "s2"],
    "no-time-column": lambda f: f.drop(columns="date"),
    "no-covariate-column": lambda f: f.rename(columns={"promo": "promotion"}),
    "text-value": lambda f: f.assign(promo=["yes"] * len(f)),
    "empty-value": lambda f: f.assign(promo=[None] + [1.0] * (len(f) - 1)),
    "bad-date": lambda f: f.assign(date=["soon"] + list(f["date"].iloc[1:])),
}


@pytest.mark.parametrize("fault", list(FUTURE_FAULTS))
def test_a_malformed_future_file_is_one_line_exit_2(made, cli, tmp_path: Path, fault: str) -> None:  # type: ignore[no-untyped-def]
    run, _, future = made
    bad = tmp_path / "future.csv"
    FUTURE_FAULTS[fault](pd.read_csv(future)).to_csv(bad, index=False)
    before = hashlib.sha256(bad.read_bytes()).hexdigest()
    out = tmp_path / "forecast.csv"
    result = cli("predict", run, "--steps", STEPS, "--future", bad, "--out", out)
    assert_one_line_error(result)
    assert not out.exists() and hashlib.sha256(bad.read_bytes()).hexdigest() == before


def test_predict_without_the_future_file_is_one_line(made, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("predict", made[0], "--steps", STEPS)
    assert_one_line_error(result)
    assert "--future FILE" in result.err


TRAIN_FAULTS = {
    "unknown-future-column": ("--future-covariates", "promotion"),
    "unknown-static-column": ("--static-covariates", "regions"),
    "varying-static": ("--static-covariates", "promo"),
    "classic-model": ("--future-covariates", "promo", "--model", "classic"),
    "classic-calendar": ("--calendar", "on", "--model", "classic"),
}


@pytest.mark.parametrize("fault", list(TRAIN_FAULTS))
def test_bad_covariate_options_are_one_line_exit_2(made, cli, tmp_path: Path, fault: str) -> None:  # type: ignore[no-untyped-def]
    _, data, _ = made
    out = tmp_path / "run"
    result = cli("train", "--data", data, *TRAIN, *TRAIN_FAULTS[fault], *FAST, "--out", out)
    assert_one_line_error(result)
    assert not out.exists()
    if fault.startswith("classic-model"):
        assert "--model patch" in result.err


DATA_FAULTS = {
    "empty-future-covariate": ("--future-covariates", "promo", "promo"),
    "empty-static-covariate": ("--static-covariates", "size", "size"),
    "text-future-covariate": ("--future-covariates", "region", None),
}


@pytest.mark.parametrize("fault", list(DATA_FAULTS))
def test_bad_covariate_values_in_the_training_file(made, cli, tmp_path: Path, fault: str) -> None:  # type: ignore[no-untyped-def]
    flag, column, emptied = DATA_FAULTS[fault]
    table = pd.read_csv(made[1])
    if emptied is not None:
        table.loc[5, emptied] = np.nan
    data = tmp_path / "bad.csv"
    table.to_csv(data, index=False)
    before = hashlib.sha256(data.read_bytes()).hexdigest()
    out = tmp_path / "run"
    result = cli("train", "--data", data, *TRAIN, flag, column, *FAST, "--out", out)
    assert_one_line_error(result)
    assert not out.exists() and hashlib.sha256(data.read_bytes()).hexdigest() == before


def test_backtest_reads_the_covariates(made, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bt"
    result = cli(
        "backtest", "--data", made[1], *TRAIN, *COVARIATES, *FAST, "--folds", "2", "--out", out
    )
    assert result.code == 0, result.err
    folds = json.loads((out / "backtest.json").read_text())["folds"]
    assert len(folds) == 2 and all(np.isfinite(f["test"]["model"]["mase"]) for f in folds)
