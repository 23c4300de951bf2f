"""Known-future covariates on the bundled seatbelts data: the same default model with and without.

For seeds 0, 1, 2 and each set of known-future covariates (none, then the ones asked for), fit
the default Forecaster (exactly what ``rnnkit train --data seatbelts --test-size 12
[--future-covariates ...]`` fits) on all but the last 12 months (1984) of the three series,
score those 12 beside the naive, seasonal naive and drift baselines (MASE, sMAPE), print a
table, write benchmarks/results/covariates.json and the figure docs/img/seatbelts_covariates.png
(seed 0: the last three years, the truth of 1984 and both forecasts).
Usage: python benchmarks/bench_covariates.py [--seeds 0,1,2] [--sets "kms,petrol_price;law"]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from rnnkit import Forecaster
from rnnkit.data.datasets import DATASETS, load_series
from rnnkit.runs import environment

HERE = Path(__file__).resolve().parent
TEST = 12  # the last year, 1984
INFO = DATASETS["seatbelts"]


def run(frame, seed: int, future: list[str]) -> tuple[dict, Forecaster, float]:  # type: ignore[no-untyped-def]
    """One fit and its held-out scores."""
    start = time.perf_counter()
    model = Forecaster(seed=seed).fit(
        frame,
        target=INFO.target,
        time_col=INFO.time_col,
        id_col=INFO.id_col,
        future_covariates=future,
        test_size=TEST,
    )
    seconds = time.perf_counter() - start
    return model.evaluate(frame, test_size=TEST), model, seconds


def figure(frame, models: dict[str, Forecaster], path: Path) -> None:  # type: ignore[no-untyped-def]
    """One panel per series: the last 36 months, the held-out year and each model's forecast."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    held = {name: model.holdout(frame, test_size=TEST) for name, model in models.items()}
    first = next(iter(held.values()))
    fig, axes = plt.subplots(1, len(first.ids), figsize=(4.2 * len(first.ids), 3.4))
    for i, ax in enumerate(axes):
        ax.plot(
            first.history_times[i][-36:], first.histories[i][-36:], color="0.3", label="history"
        )
        ax.plot(first.truth_times[i], first.truths[i], color="black", lw=2, label="truth (1984)")
        for (name, result), color in zip(held.items(), ("tab:orange", "tab:blue"), strict=False):
            ax.plot(result.truth_times[i], result.forecasts[i][:, 0], color=color, label=name)
        ax.set_title(f"seatbelts: {first.ids[i]}")
        ax.tick_params(axis="x", labelrotation=30)
    axes[0].set_ylabel("killed or seriously injured")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--sets", default="kms,petrol_price;kms,petrol_price,law;law", help="';'-separated sets"
    )
    parser.add_argument("--out", default=str(HERE / "results" / "covariates.json"))
    parser.add_argument("--figure", default=str(HERE.parent / "docs" / "img"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    frame = load_series("seatbelts")
    seeds = [int(s) for s in args.seeds.split(",")]
    sets = [[]] + [[c for c in part.split(",") if c] for part in args.sets.split(";")]
    rows, baselines, first_models = [], None, {}
    for future in sets:
        label = ",".join(future) or "none"
        scores, seconds = [], []
        for seed in seeds:
            result, model, took = run(frame, seed, future)
            scores.append(result["model"])
            seconds.append(took)
            baselines = {k: v for k, v in result.items() if k != "model"}
            if seed == seeds[0]:
                first_models["with " + label if future else "without covariates"] = model
        mase = [s["mase"] for s in scores]
        rows.append(
            {
                "future_covariates": future,
                "mase_per_seed": mase,
                "mase_mean": statistics.mean(mase),
                "smape_mean": statistics.mean(s["smape"] for s in scores),
                "fit_seconds_mean": statistics.mean(seconds),
            }
        )
        print(
            f"{label:<28} MASE {statistics.mean(mase):.3f} (seeds: "
            + " / ".join(f"{m:.3f}" for m in mase)
            + f"), fit {statistics.mean(seconds):.1f} s"
        )
    assert baselines is not None
    for name, values in baselines.items():
        print(f"{name:<28} MASE {values['mase']:.3f}")
    figure_path = Path(args.figure) / "seatbelts_covariates.png"
    figure(frame, dict(list(first_models.items())[:2]), figure_path)
    result = {
        "dataset": "seatbelts",
        "test_size": TEST,
        "seeds": seeds,
        "rows": rows,
        "baselines": baselines,
        "machine": platform.processor() or platform.machine(),
        "versions": environment(),
        "command": " ".join(sys.argv),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out} and {figure_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
