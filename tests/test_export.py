"""`rnnkit export` and Forecaster.export: exported graphs forecast what `rnnkit predict` does."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from rnnkit.cli import main
from rnnkit.errors import UserError
from rnnkit.forecasting.forecaster import Forecaster
from rnnkit.text.charlm import CharLM
from rnnkit.training import TrainConfig
from tests.conftest import assert_one_line_error

STEPS = 6  # more than the direct horizon (4): the loop runs in every model
ROOT = Path(__file__).resolve().parents[1]
# the tests load TorchScript files on purpose; torch deprecates the format, not these tests
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
SINGLE = ["--target", "y", "--time-col", "date"]
MULTI = [*SINGLE, "--id-col", "shop", "--covariates", "temp"]
# run name -> (data, flags): every cell; both strategies for the classic ones; lstm in both
# backends; a Gaussian model fed its own samples and a quantile one; one and several series.
RUNS = {
    "rnn-direct": ("single", ["--cell", "rnn"]),
    "rnn-recursive": ("multi", ["--cell", "rnn", "--strategy", "recursive"]),
    "lstm-direct": ("single", ["--cell", "lstm", "--backend", "torch"]),
    "lstm-recursive-rnnkit-gaussian": (
        "single",
        ["--cell", "lstm", "--backend", "rnnkit", "--strategy", "recursive"]
        + ["--likelihood", "gaussian"],
    ),
    "gru-direct-quantile": ("multi", ["--cell", "gru", "--likelihood", "quantile"]),
    "gru-recursive": ("single", ["--cell", "gru", "--strategy", "recursive"]),
    "layernorm_lstm": ("single", ["--cell", "layernorm_lstm"]),
    "layernorm_gru": ("single", ["--cell", "layernorm_gru"]),
    "mingru": ("multi", ["--cell", "mingru"]),
    "minlstm": ("single", ["--cell", "minlstm", "--strategy", "recursive"]),
}


def write_data(folder: Path) -> dict[str, Path]:
    """A positive monthly series (log-scaled), and two shops with a covariate (long format)."""
    t = np.arange(60)
    single = pd.DataFrame(
        {
            "date": pd.date_range("2000-01-01", periods=60, freq="MS"),
            "y": 100 + t + 10 * np.sin(2 * np.pi * t / 12),
        }
    )
    parts = []
    for k, shop in enumerate(("a", "b")):
        t = np.arange(48)
        parts.append(
            pd.DataFrame(
                {
                    "date": pd.date_range("2001-01-01", periods=48, freq="D"),
                    "shop": shop,
                    "y": (k + 1) * 50 + 5 * np.sin(2 * np.pi * t / 7) + 0.3 * t,
                    "temp": np.cos(t / 5.0) - 0.5,  # negative too: no log for this feature
                }
            )
        )
    paths = {"single": folder / "single.csv", "multi": folder / "multi.csv"}
    single.to_csv(paths["single"], index=False)
    pd.concat(parts).to_csv(paths["multi"], index=False)
    return paths


def run_main(*args: object) -> int:
    try:
        return main([str(a) for a in args])
    except SystemExit as exit_:
        return int(exit_.code or 0)


class Runs:
    """Tiny trained runs and their exports, each made once per module on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.data = folder, write_data(folder)
        self.exports: dict[tuple[str, str], Path] = {}

    def run(self, name: str) -> Path:
        out = self.folder / name
        if not (out / "model.json").exists():
            data, flags = RUNS[name]
            columns = SINGLE if data == "single" else MULTI
            horizon = [] if "recursive" in flags else ["--horizon", "4"]
            code = run_main(
                *("train", "--data", self.data[data], *columns, *flags, *horizon),
                *("--window", "8", "--test-size", "8", "--epochs", "1", "--hidden-size", "8"),
                *("--device", "cpu", "--no-progress", "--model", "classic", "--out", out),
            )
            assert code == 0
        return out

    def export(self, name: str, fmt: str) -> Path:
        """Exported with the default --out (RUN/forecaster.onnx or .pt)."""
        if (name, fmt) not in self.exports:
            run = self.run(name)
            assert run_main("export", run, "--format", fmt, "--steps", STEPS) == 0
            self.exports[name, fmt] = run / (
                "forecaster.onnx" if fmt == "onnx" else "forecaster.pt"
            )
        return self.exports[name, fmt]

    def source(self, name: str) -> Path:
        return self.data[RUNS[name][0]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(tmp_path_factory.mktemp("export-runs"))


def predicted(cli: Callable, run: Path, tmp_path: Path, names: list[str]) -> dict[str, np.ndarray]:
    """`rnnkit predict RUN --steps STEPS`: each column as (series, steps), series in file order."""
    out = tmp_path / "predict.csv"
    assert cli("predict", run, "--steps", STEPS, "--out", out).code == 0
    table = pd.read_csv(out)
    return {n: table[n].to_numpy().reshape(-1, STEPS) for n in names}


def inputs_from_csv(csv: Path, meta: dict) -> dict[str, np.ndarray]:
    """The model's inputs built by hand from the data file and the stored metadata only."""
    table = pd.read_csv(csv)
    groups = (
        [table] if meta["id_col"] is None else [g for _, g in table.groupby("shop", sort=False)]
    )
    windows = [g[meta["features"]].to_numpy("float32")[-meta["window"] :] for g in groups]
    feeds = {"window": np.stack(windows)}  # (series, window, F)
    if "loc" in meta["input_names"]:
        scaling = meta["scaling"]
        rows = [scaling["ids"].index(str(g[meta["id_col"]].iloc[0])) for g in groups]
        feeds["loc"] = np.asarray(scaling["loc"], np.float32)[rows]
        feeds["scale"] = np.asarray(scaling["scale"], np.float32)[rows]
    return feeds


def onnx_session(path: Path) -> Any:
    """An onnxruntime session; tests that need one skip where the onnx extra is missing."""
    ort = pytest.importorskip("onnxruntime")
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def onnx_run(path: Path, feeds: dict[str, np.ndarray]) -> tuple[dict, list[np.ndarray]]:
    session = onnx_session(path)
    meta = json.loads(session.get_modelmeta().custom_metadata_map["rnnkit"])
    assert [i.name for i in session.get_inputs()] == meta["input_names"]
    assert [o.name for o in session.get_outputs()] == meta["output_names"]
    return meta, session.run(meta["output_names"], feeds)


def torchscript_meta(path: Path) -> tuple[torch.jit.ScriptModule, dict]:
    extra = {"rnnkit.json": ""}
    model = torch.jit.load(path, _extra_files=extra)
    return model, json.loads(extra["rnnkit.json"])


def assert_close(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * np.abs(want).max())


@pytest.mark.parametrize("name", list(RUNS))
def test_onnx_equals_rnnkit_predict(runs: Runs, cli, tmp_path: Path, name: str) -> None:
    pytest.importorskip("onnxruntime")
    path = runs.export(name, "onnx")
    meta = json.loads(onnx_session(path).get_modelmeta().custom_metadata_map["rnnkit"])
    _, outputs = onnx_run(path, inputs_from_csv(runs.source(name), meta))
    want = predicted(cli, runs.run(name), tmp_path, meta["output_names"])
    for column, got in zip(meta["output_names"], outputs, strict=True):
        assert_close(got, want[column])


@pytest.mark.parametrize("name", list(RUNS))
def test_torchscript_equals_rnnkit_predict(runs: Runs, cli, tmp_path: Path, name: str) -> None:
    model, meta = torchscript_meta(runs.export(name, "torchscript"))
    feeds = inputs_from_csv(runs.source(name), meta)
    with torch.no_grad():
        outputs = model(*(torch.from_numpy(feeds[n]) for n in meta["input_names"]))
    want = predicted(cli, runs.run(name), tmp_path, meta["output_names"])
    assert isinstance(outputs, tuple)
    for column, got in zip(meta["output_names"], outputs, strict=True):
        assert_close(got.numpy(), want[column])


def test_metadata_names_shapes_and_model(runs: Runs) -> None:
    pytest.importorskip("onnxruntime")
    single, _ = onnx_run(runs.export("lstm-direct", "onnx"), {"window": np.ones((1, 8, 1), "f")})
    _, multi = torchscript_meta(runs.export("gru-direct-quantile", "torchscript"))
    # a point model's calibrated intervals are outputs too (rnnkit.forecasting.calibration)
    assert single["input_names"] == ["window"]
    assert single["output_names"] == ["forecast", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert single["calibration"] == "symmetric" and multi["calibration"] == "cqr"
    assert single["inputs"][0]["shape"] == ["batch", 8, 1]
    assert single["outputs"][0] == {
        "name": "forecast",
        "shape": ["batch", STEPS],
        "dtype": "float32",
        "meaning": "forecast in the target's units",
    }
    assert (single["window"], single["steps"], single["frequency"]) == (8, STEPS, "MS")
    assert single["scaling"] == {"log": [True], "folded": True}
    assert single["versions"]["torch"] == torch.__version__
    assert multi["input_names"] == ["window", "loc", "scale"]
    assert multi["features"] == ["y", "temp"] and multi["covariates"] == ["temp"]
    assert multi["output_names"] == ["forecast", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert multi["scaling"]["ids"] == ["a", "b"] and multi["scaling"]["log"] == [True, False]
    assert multi["inputs"][1]["shape"] == ["batch", 2]
    assert multi["frequency"] == "D" and multi["id_col"] == "shop"


def test_batch_is_dynamic_and_rows_independent(runs: Runs) -> None:
    """Windows ending at five places, forecast together and one by one, agree."""
    pytest.importorskip("onnxruntime")
    values = pd.read_csv(runs.source("gru-recursive"))["y"].to_numpy("float32")
    batch = np.stack([values[e - 8 : e] for e in (20, 30, 40, 50, 60)])[..., None]  # (5, 8, 1)
    path = runs.export("gru-recursive", "onnx")
    together = onnx_run(path, {"window": batch})[1][0]  # the forecast (intervals follow)
    alone = [onnx_run(path, {"window": batch[i : i + 1]})[1][0][0] for i in range(5)]
    assert together.shape == (5, STEPS)
    assert_close(together, np.stack(alone))
    assert not np.allclose(together[0], together[-1])  # the rows really differ


def doc_scripts() -> dict[str, str]:
    """The ```python blocks of docs/export.md that start with '# forecast_...py'."""
    text = (ROOT / "docs" / "export.md").read_text()
    blocks = re.findall(r"```python\n(# (forecast_\w+\.py).*?)```", text, flags=re.S)
    return {name: code for code, name in blocks}


# run (script, model, data) triples in a Python where `import rnnkit` fails (it is installed
# editable here, so -I alone would still find it); prints {script: its JSON output}
NO_RNNKIT = """
import contextlib, io, json, runpy, sys
sys.modules["rnnkit"] = None
results = {}
for script, model, data in json.loads(sys.argv[1]):
    sys.argv, out = [script, model, data], io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(script, run_name="__main__")
    results[script] = json.loads(out.getvalue())
print(json.dumps(results))
"""


def test_docs_scripts_run_without_rnnkit(runs: Runs, cli, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    scripts = doc_scripts()
    assert set(scripts) == {"forecast_onnx.py", "forecast_torchscript.py"}
    name, jobs = "lstm-recursive-rnnkit-gaussian", []
    for script, fmt in (("forecast_onnx.py", "onnx"), ("forecast_torchscript.py", "torchscript")):
        assert len([line for line in scripts[script].splitlines() if line.strip()]) <= 11
        (tmp_path / script).write_text(scripts[script])
        jobs.append([script, str(runs.export(name, fmt)), str(runs.source(name))])
    proc = subprocess.run(
        [sys.executable, "-I", "-c", NO_RNNKIT, json.dumps(jobs)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    want = predicted(cli, runs.run(name), tmp_path, ["forecast", "lo_95", "hi_95"])
    printed = json.loads(proc.stdout)
    assert set(printed) == set(scripts)
    for got in printed.values():
        for column in ("forecast", "lo_95", "hi_95"):
            assert_close(np.asarray(got[column]), want[column][0])


def test_onnx_without_the_extra_is_one_line_and_other_commands_work(
    runs: Runs, tmp_path: Path
) -> None:
    run = runs.run("gru-recursive")
    code = (
        "import contextlib, io, json, sys\n"
        "for name in ('onnx', 'onnxruntime', 'onnxscript'): sys.modules[name] = None\n"
        "from rnnkit.cli import main\n"
        "err = io.StringIO()\n"
        "with contextlib.redirect_stderr(err):\n"
        f"    onnx = main(['export', {str(run)!r}, '--format', 'onnx', '--out', 'a.onnx'])\n"
        f"ts = main(['export', {str(run)!r}, '--format', 'torchscript', '--out', 'a.pt'])\n"
        f"predict = main(['predict', {str(run)!r}, '--steps', '2'])\n"
        "print(json.dumps({'onnx': onnx, 'err': err.getvalue(), 'ts': ts, 'predict': predict}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert (result["onnx"], result["ts"], result["predict"]) == (2, 0, 0)
    assert len(result["err"].strip().splitlines()) == 1
    assert "pip install 'rnnkit[onnx]'" in result["err"]
    assert not (tmp_path / "a.onnx").exists() and (tmp_path / "a.pt").stat().st_size > 0


def test_python_api_exports_and_checks_its_arguments(runs: Runs, tmp_path: Path) -> None:
    forecaster = Forecaster.load(runs.run("rnn-direct"), device="cpu")
    path = forecaster.export(tmp_path / "f.pt", format="torchscript", steps=3)
    model, meta = torchscript_meta(path)
    assert meta["steps"] == 3 and model(torch.ones(2, 8, 1))[0].shape == (2, 3)
    with pytest.raises(UserError, match="already exists"):
        forecaster.export(path, format="torchscript")
    with pytest.raises(UserError, match="positive integer"):
        forecaster.export(tmp_path / "g.pt", format="torchscript", steps=0)
    with pytest.raises(UserError, match="unknown export format 'tflite'"):
        forecaster.export(tmp_path / "g.x", format="tflite")
    assert forecaster.export(path, format="torchscript", overwrite=True) == path
    assert torchscript_meta(path)[1]["steps"] == 4  # default: the direct horizon


def nan_weights_run(runs: Runs, folder: Path) -> Path:
    """A copy of a run whose weights are NaN: its forecasts cannot be checked."""
    run = shutil.copytree(runs.run("rnn-direct"), folder / "nan-run")
    tensors = {
        k: torch.full_like(v, float("nan")) for k, v in load_file(run / "model.safetensors").items()
    }
    save_file(tensors, run / "model.safetensors")
    return run


def classifier_kind_run(folder: Path) -> Path:
    """A run of another kind: a tiny character language model."""
    train = TrainConfig(epochs=1, batch_size=2, progress=False, log_every=0)
    lm = CharLM("gru", hidden_size=4, embed_size=2, seq_len=8, steps=1, train=train, device="cpu")
    return lm.fit("to be or not to be, " * 20).save(folder / "lm")


@pytest.mark.parametrize(
    "case,needle",
    [
        ("missing", "does not exist"),
        ("empty", "does not exist"),
        ("other-kind", "not a 'forecaster' model"),
        ("steps-0", "positive integer"),
        ("format", "invalid choice"),
        ("exists", "already exists"),
        ("not-finite", "not finite"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    runs: Runs, cli, tmp_path: Path, case: str, needle: str
) -> None:
    run, extra = tmp_path / "nothing-here", []
    out = tmp_path / "out" / "model.pt"  # torchscript: these run without the onnx extra
    if case == "empty":
        run.mkdir()
    elif case == "other-kind":
        run = classifier_kind_run(tmp_path)
    elif case in ("steps-0", "format", "exists"):
        run = runs.run("rnn-direct")
        extra = {"steps-0": ["--steps", "0"], "format": ["--format", "tflite"], "exists": []}[case]
    elif case == "not-finite":
        run = nan_weights_run(runs, tmp_path)
    if case == "exists":
        out.parent.mkdir()
        out.write_text("precious")
    result = cli("export", run, "--format", "torchscript", "--out", out, *extra)
    assert_one_line_error(result)
    assert needle in result.err
    if case == "exists":
        assert out.read_text() == "precious"
    else:
        assert not out.parent.exists() or not any(out.parent.iterdir())  # not even a temp file
