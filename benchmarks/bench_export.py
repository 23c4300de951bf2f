"""One-step, one-series forecast latency of exported forecasters, beside the Python ways.

For each strategy, fits a default-sized LSTM forecaster (hidden 64) on airpassengers for one
epoch (speed does not depend on the weights), exports it with ``--steps 1`` to ONNX and
TorchScript, and times single calls on the series' last window: the ONNX file in onnxruntime,
the TorchScript file from ``torch.jit.load``, the raw ``ForecastModule`` and
``Forecaster.predict(1)`` (which also builds the output table). Calls alternate between the
four in rounds, one thread each; prints medians and their ratio to ONNX, writes
benchmarks/results/export.json.
Usage: python benchmarks/bench_export.py [--quick] [--calls 2000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import onnxruntime as ort
import torch

from rnnkit import Forecaster, __version__
from rnnkit.data.datasets import load_series

HERE = Path(__file__).resolve().parent
METHODS = ("onnx", "torchscript", "module", "predict")


def callables(forecaster: Forecaster, folder: Path) -> dict[str, Callable[[], object]]:
    """One zero-argument forecast call per method, all on the same last window."""
    onnx_path = forecaster.export(folder / "f.onnx", format="onnx", steps=1)
    ts_path = forecaster.export(folder / "f.pt", format="torchscript", steps=1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    scripted = torch.jit.load(ts_path)
    module, context = forecaster.module, forecaster.context
    assert module is not None and context is not None
    window = context.raw[:1]  # (1, window, F)
    loc, scale, feed = context.loc[:1], context.scale[:1], {"window": window.numpy()}

    def run_module() -> object:
        with torch.inference_mode():
            return module(window, loc, scale, 1)

    def run_script() -> object:
        with torch.inference_mode():
            return scripted(window)

    return {
        "onnx": lambda: session.run(None, feed),
        "torchscript": run_script,
        "module": run_module,
        "predict": lambda: forecaster.predict(1),
    }


def median_us(calls: dict[str, Callable[[], object]], n: int, rounds: int) -> dict[str, float]:
    """Median microseconds per call; methods alternate round by round (fair under load)."""
    for call in calls.values():  # warm-up
        for _ in range(20):
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            for _ in range(max(1, n // rounds)):
                start = time.perf_counter_ns()
                call()
                samples[name].append((time.perf_counter_ns() - start) / 1e3)
    return {name: statistics.median(values) for name, values in samples.items()}


def bench(strategy: str, args: argparse.Namespace, folder: Path) -> dict[str, object]:
    options = {"model": "classic", "cell": "lstm", "strategy": strategy, "epochs": 1}
    options["device"] = "cpu"
    forecaster = Forecaster(**options).fit(
        load_series("airpassengers"), target="passengers", time_col="date"
    )
    assert forecaster.shape is not None
    times = median_us(callables(forecaster, folder / strategy), args.calls, args.rounds)
    return {
        "cell": "lstm",
        "strategy": strategy,
        "hidden_size": forecaster.config.model.hidden_size,
        "window": forecaster.shape.window,
        "horizon": forecaster.shape.horizon,
        "median_us": times,
        "ratio_to_onnx": {k: v / times["onnx"] for k, v in times.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few calls (a smoke run)")
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per method")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds")
    parser.add_argument("--json", default=str(HERE / "results" / "export.json"))
    args = parser.parse_args()
    if args.quick:
        args.calls, args.rounds = 200, 4
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="rnnkit-bench-export-") as tmp:
        results = [bench(s, args, Path(tmp)) for s in ("direct", "recursive")]
    print(f"one-step, one-series forecast latency (median of {args.calls} calls, 1 thread)")
    print(f"{'model':<16}" + "".join(f"{m:>13}" for m in METHODS) + "   predict/onnx")
    for r in results:
        times, ratios = r["median_us"], r["ratio_to_onnx"]
        assert isinstance(times, dict) and isinstance(ratios, dict)
        row = "".join(f"{times[m]:>10.0f} us" for m in METHODS)
        print(f"{'lstm ' + str(r['strategy']):<16}{row}   {ratios['predict']:>10.1f}x")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "benchmark": "export",
        "calls": args.calls,
        "threads": 1,
        "results": results,
        "versions": {
            "rnnkit": __version__,
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
        },
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
    }
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
