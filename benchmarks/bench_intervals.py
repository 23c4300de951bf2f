"""Interval coverage, MSIS and ACD before and after conformal calibration.

Each fit is scored twice: with its calibration (the default) and without it (the head's own
intervals; a point model then has none), so "before" and "after" share every point forecast.

* bundled series: ``rnnkit backtest`` (rolling origins, refit per fold, its default test size)
  with the coverage pooled over every fold's points, per series and over all series;
* M4 subsets (``--m4-dir``): one fit on the training file, the official test file scored as
  ``rnnkit benchmark m4`` scores it (MSIS and ACD of the 95% interval, coverage of both).

Heads: ``point`` (the default), ``quantile``, ``gaussian``. Prints a table; writes
benchmarks/results/intervals.json (or ``--json``; ``--quick``: AirPassengers, the point head).
Usage: python benchmarks/bench_intervals.py [--datasets airpassengers,...] [--heads point,...]
    [--folds 3] [--m4-dir ../shared/data/m4 --subsets hourly,weekly] [--seed 0] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnnkit import Forecaster
from rnnkit.forecasting.backtest import backtest
from rnnkit.forecasting.config import ForecasterConfig
from rnnkit.forecasting.evaluation import interval_summary
from rnnkit.forecasting.fitted import Holdout
from rnnkit.forecasting.m4 import read_m4, score_m4, subset_info
from rnnkit.forecasting.m4_benchmark import MODEL_SEASON, m4_frame
from rnnkit.forecasting.runner import DataSpec, load_data, with_season
from rnnkit.runs import environment

HERE = Path(__file__).resolve().parent
HEADS = {"point": None, "quantile": "quantile", "gaussian": "gaussian"}


class Recording(Forecaster):
    """A Forecaster whose held-out forecasts are also recorded without the calibration."""

    raw: list[Holdout] = []

    def holdout_series(self, series: Any, ends: np.ndarray, n_test: np.ndarray) -> Holdout:
        held = super().holdout_series(series, ends, n_test)
        calibration, self.calibration = self.calibration, None
        try:
            Recording.raw.append(super().holdout_series(series, ends, n_test))
        finally:
            self.calibration = calibration
        return held


def pooled(helds: list[Holdout], season: int) -> dict[str, Any] | None:
    """Coverage, ACD and MSIS pooled over every fold's series and points (None: no intervals)."""
    truths = [t for h in helds for t in h.truths]
    forecasts = [f for h in helds for f in h.forecasts]
    histories = [x for h in helds for x in h.histories]
    if forecasts[0].shape[1] == 1:
        return None
    return interval_summary(truths, forecasts, histories, season) | {
        "points": len(np.concatenate(truths))
    }


def bundled(name: str, head: str, folds: int, seed: int) -> dict[str, Any]:
    frame, columns, season = load_data(DataSpec(source=name))
    config = with_season(
        ForecasterConfig.from_options({"seed": seed, "likelihood": HEADS[head]}), season
    )
    Recording.raw = []
    start = time.perf_counter()
    result = backtest(Recording(config=config), frame, columns=columns, folds=folds)
    seconds = time.perf_counter() - start
    s = result.folds[0].season
    after = pooled([f.holdout for f in result.folds], s)
    return {
        "dataset": name,
        "head": head,
        "folds": folds,
        "test_size": result.settings["test_size"],
        "mase": result.mean["model"]["mase"],
        "after": after,
        "before": pooled(Recording.raw, s),
        "seconds": round(seconds, 1),
        "helds": ([f.holdout for f in result.folds], list(Recording.raw), s),
    }


def m4(data_dir: str, subset: str, head: str, seed: int) -> dict[str, Any]:
    train, test = read_m4(data_dir, subset)
    info = subset_info(subset)
    options = {"horizon": info.horizon, "season": MODEL_SEASON[info.name.lower()], "seed": seed}
    start = time.perf_counter()
    model = Forecaster(likelihood=HEADS[head], **options)
    model.fit(train, target="y", time_col="t", id_col="id")
    seconds = time.perf_counter() - start
    rows: dict[str, Any] = {"subset": info.name, "head": head, "seconds": round(seconds, 1)}
    for when in ("after", "before"):
        if when == "before":
            model.calibration = None
        frame = m4_frame(model.predict(info.horizon), info.horizon)
        if "lo_95" not in frame:
            rows[when] = None
            continue
        scores = score_m4(train, test, frame, subset)
        keep = ("smape", "mase", "owa", "msis", "acd", "coverage", "coverage_80")
        rows[when] = {k: scores[k] for k in keep}
    return rows


def cell(values: dict[str, Any] | None) -> str:
    if values is None:
        return "none | | |"
    cov = values["coverage"]
    c80, c95 = (cov["80"], cov["95"]) if isinstance(cov, dict) else (values["coverage_80"], cov)
    msis = values.get("msis")
    return f"{c80:.3f} | {c95:.3f} | {msis:.2f}" if msis is not None else f"{c80:.3f} | {c95:.3f} |"


def pooled_row(head: str, parts: list[tuple[list[Holdout], list[Holdout], int]]) -> dict[str, Any]:
    """Coverage over every bundled series' backtest points (each point weighs the same)."""
    row: dict[str, Any] = {"dataset": "every bundled series, pooled", "head": head}
    for when, index in (("after", 0), ("before", 1)):
        values = [pooled(p[index], p[2]) for p in parts]
        if values[0] is None:
            row[when] = None
            continue
        points = sum(v["points"] for v in values)
        cov = {
            k: sum(v["coverage"][k] * v["points"] for v in values) / points for k in ("80", "95")
        }
        row[when] = {"coverage": cov, "points": points}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="airpassengers,co2,sunspots,births,seatbelts")
    parser.add_argument("--heads", default="point,quantile,gaussian")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--m4-dir")
    parser.add_argument("--subsets", default="hourly,weekly")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=str(HERE / "results" / "intervals.json"))
    parser.add_argument("--quick", action="store_true", help="AirPassengers, point head, 2 folds")
    args = parser.parse_args()
    if args.quick:
        args.datasets, args.heads, args.folds, args.m4_dir = "airpassengers", "point", 2, None
    torch.set_num_threads(1)
    datasets = [d for d in args.datasets.split(",") if d]
    subsets = [s for s in args.subsets.split(",") if s] if args.m4_dir else []
    results: dict[str, Any] = {"machine": platform.processor() or platform.machine()}
    results["versions"], results["runs"], results["rows"] = environment(), [], []
    lines = [
        "| data | head | 80% before | 95% before | MSIS before | 80% after | 95% after "
        "| MSIS after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    print("\n".join(lines), flush=True)

    def record(name: str, row: dict[str, Any]) -> None:
        results["runs"].append(row)
        after = row["after"] or {}
        cov = after.get("coverage")
        c80, c95 = (
            (cov["80"], cov["95"]) if isinstance(cov, dict) else (after.get("coverage_80"), cov)
        )
        results["rows"].append(
            {
                "data": name,
                "head": row["head"],
                "cover 80": c80,
                "cover 95": c95,
                "msis": after.get("msis"),
            }
        )
        lines.append(f"| {name} | {row['head']} | {cell(row['before'])} | {cell(row['after'])} |")
        print(lines[-1], flush=True)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2, default=float) + "\n")

    # the default head first everywhere, so that a cut-short run has the figures that matter
    for head in [h for h in args.heads.split(",") if h]:
        for subset in subsets[:1]:
            record(f"M4 {subset}", m4(args.m4_dir, subset, head, args.seed))
        parts = []
        for name in datasets:
            row = bundled(name, head, args.folds, args.seed)
            after, before, season = row.pop("helds")
            parts.append((after, before, season))
            record(f"{name} backtest ({row['folds']} x {row['test_size']})", row)
        if parts:
            record("every bundled series, pooled", pooled_row(head, parts))
        for subset in subsets[1:]:
            record(f"M4 {subset}", m4(args.m4_dir, subset, head, args.seed))
    print("\n".join(lines))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    pd.set_option("display.width", 120)
    main()
