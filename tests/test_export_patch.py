"""The default (patch) model exports like the classic one: ONNX and TorchScript equal predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tests.test_export import assert_close, onnx_run, run_main, torchscript_meta, write_data

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
STEPS = 6  # more than the horizon (4): the window slides over its own forecasts
# run name -> (data, flags): point forecasts of one series, quantiles of two (loc/scale inputs)
RUNS = {
    "patch": ("single", ["--target", "y", "--time-col", "date"]),
    "patch-gaussian": (
        "single",
        ["--target", "y", "--time-col", "date", "--likelihood", "gaussian"],
    ),
    "patch-quantile": (
        "multi",
        ["--target", "y", "--time-col", "date", "--id-col", "shop", "--likelihood", "quantile"],
    ),
}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Each run (default model) and its data file."""
    folder = tmp_path_factory.mktemp("export-patch")
    data = write_data(folder)
    out = {}
    for name, (source, flags) in RUNS.items():
        run = folder / name
        code = run_main(
            *("train", "--data", data[source], *flags, "--horizon", "4", "--test-size", "4"),
            *("--calendar", "off"),  # no covariates: the graph reads the window (and scaling)
            *("--epochs", "2", "--hidden-size", "8", "--device", "cpu", "--no-progress"),
            *("--out", run),
        )
        assert code == 0
        out[name] = (run, data[source])
    return out


def feeds(csv: Path, meta: dict) -> dict[str, np.ndarray]:
    """Windows from the data file and the metadata: the last rows, padded with mask 0."""
    table = pd.read_csv(csv)
    groups = [table] if meta["id_col"] is None else [g for _, g in table.groupby("shop")]
    assert meta["features"] == ["y", "mask"] and meta["model"] == "patch"
    windows = []
    for group in groups:
        y = group["y"].to_numpy("float32")[-meta["window"] :]
        pad = meta["window"] - len(y)
        values = np.concatenate([np.full(pad, y[0], np.float32), y])
        mask = np.concatenate([np.zeros(pad, np.float32), np.ones(len(y), np.float32)])
        windows.append(np.stack([values, mask], axis=-1))
    out = {"window": np.stack(windows)}
    if "loc" in meta["input_names"]:
        scaling = meta["scaling"]
        rows = [scaling["ids"].index(str(g["shop"].iloc[0])) for g in groups]
        out["loc"] = np.asarray(scaling["loc"], np.float32)[rows]
        out["scale"] = np.asarray(scaling["scale"], np.float32)[rows]
    return out


def predicted(cli, run: Path, tmp_path: Path, names: list[str]) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    out = tmp_path / "predict.csv"
    assert cli("predict", run, "--steps", STEPS, "--out", out).code == 0
    table = pd.read_csv(out)
    return {n: table[n].to_numpy().reshape(-1, STEPS) for n in names}


@pytest.mark.parametrize("name", list(RUNS))
def test_patch_onnx_equals_rnnkit_predict(made, cli, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("onnxruntime")
    run, csv = made[name]
    path = tmp_path / "f.onnx"
    assert run_main("export", run, "--format", "onnx", "--steps", STEPS, "--out", path) == 0
    import onnx

    meta = json.loads(
        next(p.value for p in onnx.load(str(path)).metadata_props if p.key == "rnnkit")
    )
    _, outputs = onnx_run(path, feeds(csv, meta))
    want = predicted(cli, run, tmp_path, meta["output_names"])
    assert len(outputs) == 5  # calibrated intervals for every head, the point model's too
    assert (np.diff(np.stack([outputs[i] for i in (3, 1, 0, 2, 4)]), axis=0) >= 0).all()
    assert (outputs[4] > outputs[3]).any()  # intervals with a width
    for column, got in zip(meta["output_names"], outputs, strict=True):
        assert_close(got, want[column])


@pytest.mark.parametrize("name", list(RUNS))
def test_patch_torchscript_equals_rnnkit_predict(made, cli, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    run, csv = made[name]
    path = tmp_path / "f.pt"
    assert run_main("export", run, "--format", "torchscript", "--steps", STEPS, "--out", path) == 0
    model, meta = torchscript_meta(path)
    inputs = feeds(csv, meta)
    with torch.no_grad():
        outputs = model(*(torch.from_numpy(inputs[n]) for n in meta["input_names"]))
    want = predicted(cli, run, tmp_path, meta["output_names"])
    for column, got in zip(meta["output_names"], outputs, strict=True):
        assert_close(got.numpy(), want[column])
