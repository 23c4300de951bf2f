"""The Forecaster's defaults on every bundled series, beside the baselines, and predict latency.

For each bundled series dataset and seeds 0, 1, 2: fit the default Forecaster (exactly what
``rnnkit train --data NAME --test-size N`` fits) on all but the last N points, score those N
beside the naive, seasonal naive and drift baselines, and time the fit. Then: the median latency
of a one-step ``predict`` through the Python API with a loaded single-series model, and of one
batched ``predict`` over 1000 series. Prints a table; writes benchmarks/results/forecast.json.
Usage: python benchmarks/bench_forecast.py [--seeds 0,1,2] [--datasets airpassengers,...]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnnkit import Forecaster
from rnnkit.config import override
from rnnkit.forecasting.config import ForecasterConfig
from rnnkit.forecasting.evaluation import report
from rnnkit.forecasting.runner import DataSpec, training_data
from rnnkit.runs import environment

HERE = Path(__file__).resolve().parent
# held-out points per dataset: two years, two years, two cycles, four weeks
TEST_SIZES = {"airpassengers": 24, "co2": 104, "sunspots": 22, "births": 28}


def fitted(name: str, config: ForecasterConfig, test_size: int) -> tuple:
    """A Forecaster fitted on all but the last ``test_size`` points; the table; fit seconds."""
    data = training_data(DataSpec(source=name), config, test_size)
    forecaster = Forecaster(config=data.config)
    start = time.perf_counter()
    forecaster.fit_series(data.series, data.columns, data.lengths)
    return forecaster, data.frame, time.perf_counter() - start


def accuracy(name: str, seed: int) -> dict:
    forecaster, frame, seconds = fitted(
        name, override(ForecasterConfig(), {"seed": seed}), TEST_SIZES[name]
    )
    held = forecaster.holdout(frame, test_size=TEST_SIZES[name])
    assert forecaster.shape is not None and forecaster.history is not None
    scores = report(held.histories, held.truths, held.forecasts, forecaster.shape.season)
    return {
        "dataset": name,
        "seed": seed,
        "fit_seconds": seconds,
        "epochs": len(forecaster.history.records),
        "window": forecaster.shape.window,
        "horizon": forecaster.shape.horizon,
        "scores": {m: {k: scores[m][k] for k in ("mase", "mape")} for m in scores},
    }


def median_ms(call, repeats: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def latency(repeats: int) -> dict:
    forecaster, frame, _ = fitted("airpassengers", override(ForecasterConfig(), {"epochs": 2}), 24)
    rng = np.random.default_rng(0)
    n, length = 1000, 60
    t = np.tile(np.arange(length), n)
    many = pd.DataFrame(
        {
            "id": np.repeat([f"s{i}" for i in range(n)], length),
            "y": np.repeat(rng.uniform(10, 100, n), length) * (1.5 + np.sin(t / 2)),
        }
    )
    big = Forecaster(epochs=1, batch_size=256, window=24, horizon=12).fit(
        many, target="y", id_col="id"
    )
    with tempfile.TemporaryDirectory() as tmp:
        forecaster.save(Path(tmp) / "one")
        big.save(Path(tmp) / "many")
        one = Forecaster.load(Path(tmp) / "one", device="cpu")
        loaded = Forecaster.load(Path(tmp) / "many", device="cpu")
    return {
        "single_series_one_step_ms": median_ms(lambda: one.predict(1), repeats),
        "single_series_12_steps_ms": median_ms(lambda: one.predict(12), repeats),
        "series_1000_batched_12_steps_ms": median_ms(lambda: loaded.predict(12), 20),
        "repeats": repeats,
    }


def summarise(runs: list[dict]) -> list[dict]:
    rows = []
    for name in dict.fromkeys(r["dataset"] for r in runs):
        mine = [r for r in runs if r["dataset"] == name]

        def mean(method: str, metric: str, mine: list[dict] = mine) -> float | None:
            values = [r["scores"][method][metric] for r in mine]
            return None if any(v is None for v in values) else float(np.mean(values))

        row = {"dataset": name, "test_size": TEST_SIZES[name], "seeds": [r["seed"] for r in mine]}
        for method in ("model", "naive", "seasonal_naive", "drift"):
            row[method] = {"mase": mean(method, "mase"), "mape": mean(method, "mape")}
        row["model_mape_per_seed"] = [r["scores"]["model"]["mape"] for r in mine]
        row["fit_seconds"] = float(np.mean([r["fit_seconds"] for r in mine]))
        rows.append(row)
    return rows


def fmt(v: float | None) -> str:
    return f"{v:8.3f}" if v is not None else f"{'-':>8}"


def print_table(rows: list[dict], lat: dict) -> None:
    print(f"{'dataset':<14}{'method':<16}{'MASE':>8}{'MAPE %':>8}")
    for row in rows:
        for method in ("model", "naive", "seasonal_naive", "drift"):
            scores = row[method]
            label = row["dataset"] if method == "model" else ""
            print(f"{label:<14}{method:<16}{fmt(scores['mase'])}{fmt(scores['mape'])}")
        print(f"{'':<14}fit seconds (mean over seeds): {row['fit_seconds']:.1f}")
    for key, value in lat.items():
        if key.endswith("_ms"):
            print(f"{key}: {value:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--datasets", default=",".join(TEST_SIZES))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--json", default=str(HERE / "results" / "forecast.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = []
    for name in args.datasets.split(","):
        for seed in seeds:
            runs.append(accuracy(name, seed))
            print(f"{name} seed {seed}: {runs[-1]['scores']['model']}", file=sys.stderr)
    rows = summarise(runs)
    lat = latency(args.repeats)
    print_table(rows, lat)
    result = {
        "summary": rows,
        "runs": runs,
        "latency": lat,
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "versions": environment(),
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
