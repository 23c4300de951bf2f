"""Export a fitted Forecaster as one graph, raw window in, raw forecast out (ONNX, TorchScript).

The exported graph is :class:`~rnnkit.forecasting.export_graph.ForecastGraph`: the Forecaster's own
module (classic ``ForecastModule`` or ``PatchModule``: scaling, network(s), multi-step loop,
inverse scaling) traced for a fixed number of ``steps``, with the scaling statistics folded in
(one series) or taken as inputs (several series). Written under a temporary name, reloaded, run
on another batch size and compared with the PyTorch module; only a file that passes is renamed
into place. Inputs, outputs and the model's description are stored in the file (ONNX
``metadata_props`` key ``rnnkit``; TorchScript extra file ``rnnkit.json``); see docs/export.md.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import UserError, unknown
from rnnkit.forecasting.export_graph import (
    ForecastGraph,
    covariate_names,
    covariate_specs,
    exportable,
    forecast_noise,
    output_names,
    sample_inputs,
    tensor_spec,
)
from rnnkit.forecasting.patch import PatchModule
from rnnkit.runs import atomic_write, environment

if TYPE_CHECKING:
    from rnnkit.forecasting.fitted import Fitted

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
EXTRA = "pip install 'rnnkit[onnx]'"
METADATA_KEY = "rnnkit"  # ONNX metadata_props key
EXTRA_FILE = "rnnkit.json"  # TorchScript _extra_files name
TOLERANCE = 1e-4  # max |exported - PyTorch| relative to the largest |forecast|
ONNX_OPSET = 17  # onnxruntime >= 1.13 runs it


def default_path(run: str | Path, fmt: str) -> Path:
    """RUN/fitted.onnx or RUN/fitted.pt."""
    check_format(fmt)
    return Path(run) / f"forecaster{FORMATS[fmt]}"


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise unknown("export format", fmt, FORMATS)


def check_target(path: Path, overwrite: bool) -> None:
    """Refuse an existing file without ``overwrite``, and a folder in any case."""
    if path.is_dir():
        raise UserError(f"'{path}' is a folder; give a file name with --out")
    if path.exists() and not overwrite:
        raise UserError(f"'{path}' already exists; pass --overwrite to replace it")


def require_onnx() -> None:
    """Import the optional ONNX packages, or say which extra to install (one line)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise UserError(
            f"--format onnx needs the optional onnx extra ({err.name or 'onnx'} is not "
            f"installed): {EXTRA}"
        ) from None


def export_forecaster(
    fitted: Fitted,
    path: str | Path,
    *,
    format: str = "onnx",
    steps: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``forecaster`` as an ONNX or TorchScript file at ``path``; returns the path."""
    check_format(format)
    target = Path(path)
    check_target(target, overwrite)
    if format == "onnx":
        require_onnx()
    module, scaler, context = fitted.module, fitted.scaler, fitted.context
    steps = default_steps(fitted) if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps <= 0:
        raise UserError(f"steps must be a positive integer, got {steps}")
    reference = copy.deepcopy(module).cpu().eval()
    per_series = len(fitted.ids) > 1
    loc = scale = None
    if not per_series:  # one series: its statistics become constants of the graph
        loc, scale = torch.as_tensor(scaler.loc[:1]), torch.as_tensor(scaler.scale[:1])  # (1, F)
    noise = forecast_noise(fitted, int(steps))
    calibration = None if fitted.calibration is None else copy.deepcopy(fitted.calibration).cpu()
    graph = ForecastGraph(exportable(reference), int(steps), loc, scale, noise, calibration)
    meta = describe(fitted, int(steps), per_series, format)
    check = ForecastGraph(reference, int(steps), loc, scale, noise, calibration).eval()
    extra = covariate_names(module)
    example = sample_inputs(context, 2, per_series, int(steps), extra)
    probe = sample_inputs(context, 3, per_series, int(steps), extra)  # another batch size
    target.parent.mkdir(parents=True, exist_ok=True)
    write = write_onnx if format == "onnx" else write_torchscript
    atomic_write(target, lambda tmp: write(graph.eval(), example, probe, check, meta, tmp))
    return target


def default_steps(fitted: Fitted) -> int:
    """Without --steps: the horizon (direct strategy) or one season (recursive)."""
    assert fitted.shape is not None
    if fitted.config.forecast.strategy == "direct":
        return fitted.shape.horizon
    return max(fitted.shape.season, 1)


def describe(fitted: Fitted, steps: int, per_series: bool, fmt: str) -> dict[str, Any]:
    """The metadata stored in the file: inputs, outputs and what the model forecasts."""
    module, columns, shape = fitted.module, fitted.columns, fitted.shape
    patch = isinstance(module, PatchModule)  # it reads the target and its 0/1 padding mask
    features = [columns.target, *(["mask"] if patch else columns.covariates or [])]
    f, w = len(features), shape.window
    meaning = "raw values, oldest row first" + ("; mask: 1 real, 0 padding" if patch else "")
    inputs = [tensor_spec("window", ["batch", w, f], meaning)]
    if per_series:
        for name in ("loc", "scale"):
            inputs.append(tensor_spec(name, ["batch", f], f"each row's series' scaling {name}"))
    inputs += covariate_specs(module, w, steps)
    names = output_names(module.config.likelihood, fitted.calibration is not None)
    outputs = [tensor_spec(n, ["batch", steps], "forecast in the target's units") for n in names]
    versions = environment()
    meta: dict[str, Any] = {
        "format": "rnnkit-forecaster-export",
        "format_version": 1,
        "export_format": fmt,
        "inputs": inputs,
        "outputs": outputs,
        "input_names": [i["name"] for i in inputs],
        "output_names": [o["name"] for o in outputs],
        "window": w,
        "steps": steps,
        "horizon": shape.horizon,
        "season": shape.season,
        "model": "patch" if patch else "classic",
        "strategy": fitted.config.forecast.strategy,
        "likelihood": module.config.likelihood,
        "calibration": None if fitted.calibration is None else fitted.calibration.method,
        "cell": module.config.cell,
        "frequency": fitted.freq,
        "target": columns.target,
        "covariates": list(columns.covariates or []),
        "features": features,
        "time_col": columns.time_col,
        "id_col": columns.id_col,
        "scaling": scaling_description(fitted, per_series),
        "versions": {"rnnkit": versions["rnnkit"], "torch": versions["torch"]},
    }
    return meta


def scaling_description(fitted: Fitted, per_series: bool) -> dict[str, Any]:
    """How raw values are scaled: ``u = (g(x) - loc) / scale``, g = log where ``log``."""
    assert fitted.scaler is not None
    scaler = fitted.scaler
    out: dict[str, Any] = {"log": scaler.log.tolist(), "folded": not per_series}
    if per_series:  # the fitted series' statistics, to pass as the loc/scale inputs
        out.update(ids=fitted.ids, loc=scaler.loc.tolist(), scale=scaler.scale.tolist())
    return out


def compare(got: Sequence[Any], want: Sequence[Tensor], names: list[str], what: str) -> None:
    """Every output within TOLERANCE of the PyTorch module's, relative to the forecast size."""
    for name, g, w in zip(names, got, want, strict=True):
        expected = w.numpy()
        if not np.isfinite(expected).all():
            raise UserError(
                f"the model's own {name} is not finite (NaN or infinite weights?); "
                "there is nothing to export"
            )
        actual = np.asarray(g.numpy() if isinstance(g, Tensor) else g)
        size = max(1.0, float(np.abs(expected).max()))
        error = float(np.abs(actual - expected).max()) if actual.shape == expected.shape else np.inf
        if not error <= TOLERANCE * size:
            raise UserError(
                f"the exported {what} graph does not reproduce the model ({name} differs by "
                f"{error:.3g}); this cell cannot be exported to {what}"
            )


@contextlib.contextmanager
def quiet() -> Any:
    """Silence the exporters' warnings and progress prints (they are not the user's business)."""
    chatty = logging.getLogger("torch.onnx")  # e.g. "torchvision is not installed"
    level = chatty.level
    chatty.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        chatty.setLevel(level)


def write_torchscript(
    graph: ForecastGraph,
    example: tuple[Tensor, ...],
    probe: tuple[Tensor, ...],
    check: ForecastGraph,
    meta: dict[str, Any],
    tmp: str,
) -> None:
    """Trace, save with the metadata, reload and compare on ``probe``."""
    try:
        with torch.no_grad(), quiet():
            traced = torch.jit.trace(graph, example, check_trace=False)
            torch.jit.save(traced, tmp, _extra_files={EXTRA_FILE: json.dumps(meta)})
            loaded = torch.jit.load(tmp)
            got, want = loaded(*probe), check(*probe)
    except (RuntimeError, TypeError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"cell '{graph.module.config.cell}' cannot be traced: {first}") from None
    compare(got, want, meta["output_names"], "TorchScript")


def write_onnx(
    graph: ForecastGraph,
    example: tuple[Tensor, ...],
    probe: tuple[Tensor, ...],
    check: ForecastGraph,
    meta: dict[str, Any],
    tmp: str,
) -> None:
    """Export, store the metadata, check the model, run it in onnxruntime and compare."""
    import onnx
    import onnxruntime

    onnx_export(graph, example, meta["input_names"], meta["output_names"], tmp)
    model = onnx.load(tmp)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)
    model.doc_string = f"rnnkit forecaster: {meta['cell']}, {meta['steps']} steps; see metadata"
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as err:
        raise UserError(f"the exported ONNX model is invalid: {str(err).splitlines()[0]}") from None
    onnx.save(model, tmp)
    session = onnxruntime.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    feeds = {name: t.numpy() for name, t in zip(meta["input_names"], probe, strict=True)}
    with torch.no_grad():
        want = check(*probe)
    compare(session.run(None, feeds), want, meta["output_names"], "ONNX")


def onnx_export(
    graph: ForecastGraph,
    example: tuple[Tensor, ...],
    inputs: list[str],
    outputs: list[str],
    tmp: str,
) -> None:
    """torch.onnx.export with a dynamic batch dimension.

    The TorchScript-based exporter comes first: it exists from torch 2.1 on and exports these
    small graphs in about a second. Where it fails (or a later torch drops it), the
    torch.export-based exporter is tried.
    """
    axes = {name: {0: "batch"} for name in (*inputs, *outputs)}
    common: dict[str, Any] = {"input_names": inputs, "output_names": outputs, "dynamic_axes": axes}
    attempts: list[dict[str, Any]] = [{"opset_version": ONNX_OPSET}]
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        attempts = [
            {"opset_version": ONNX_OPSET, "dynamo": False},
            {"opset_version": 18, "dynamo": True, "external_data": False, "verbose": False},
        ]
    errors = []
    for options in attempts:
        try:
            with torch.no_grad(), quiet():
                torch.onnx.export(graph, example, tmp, **common, **options)
            return
        # a graph the exporter cannot express: torch.onnx's OnnxExporterError and dynamo's
        # Unsupported are RuntimeErrors; unsupported argument types surface as Type/ValueError.
        # Anything else (an AssertionError, an ImportError) is a bug and keeps its traceback.
        except (RuntimeError, TypeError, ValueError) as err:
            errors.append(" ".join(str(err).split())[:200] or type(err).__name__)
    cell = graph.module.config.cell
    raise UserError(f"cell '{cell}' cannot be exported to ONNX: {errors[0]}")
