"""The M4 benchmark: the default Forecaster on an M4 subset, scored as the competition scored it.

For every seed: fit one global Forecaster on all training series (nothing held out: the test
part is the official test file), forecast each series' horizon, write the forecasts in long
form (``id, h, yhat`` and the 95% bounds when the model has them) and score them with
:func:`rnnkit.forecasting.m4.score_m4` beside Naive, seasonal naive, Naive2 and the published
figures. Seeds are separate runs; the summary reports each and their mean.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rnnkit.forecasting.forecaster import Forecaster
from rnnkit.forecasting.m4 import baseline_table, published_table, score_m4, subset_info
from rnnkit.plots import plot_m4_examples
from rnnkit.runs import write_json

# the seasons a model sees per subset (the metrics keep M4's own: Weekly and Daily use 1);
# M4's series carry no dates, so the frequency comes from the subset's name
MODEL_SEASON = {"yearly": 1, "quarterly": 4, "monthly": 12, "weekly": 52, "daily": 7, "hourly": 24}
SCORES = ("smape", "mase", "owa", "msis", "coverage", "acd", "coverage_80")
INTERVALS = ("lo_80", "hi_80", "lo_95", "hi_95")


def m4_frame(predictions: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """``Forecaster.predict`` output (long, by id) -> ``id, h, yhat`` (+ the interval bounds)."""
    frame = predictions.reset_index(drop=True).rename(columns={"forecast": "yhat"})
    frame.insert(1, "h", np.tile(np.arange(1, horizon + 1), len(frame) // horizon))
    keep = ["id", "h", "yhat"] + [c for c in INTERVALS if c in frame]
    return frame[keep]


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_seed(
    train: pd.DataFrame,
    test: pd.DataFrame,
    subset: str,
    seed: int,
    options: dict[str, Any],
    out: Path,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Fit and forecast with one seed; its scores, per-series table and forecasts."""
    info = subset_info(subset)
    start = time.perf_counter()
    settings = {"horizon": info.horizon, "season": MODEL_SEASON[info.name.lower()], **options}
    model = Forecaster(**{**settings, "seed": seed}).fit(
        train, target="y", time_col="t", id_col="id"
    )
    forecasts = m4_frame(model.predict(info.horizon), info.horizon)
    seconds = time.perf_counter() - start
    forecasts.to_csv(out / f"forecasts_seed{seed}.csv", index=False)
    scores = score_m4(train, test, forecasts, subset)
    row = {"seed": seed, "seconds": round(seconds, 1)}
    row.update({k: scores[k] for k in SCORES if k in scores})
    return row, scores["per_series"], forecasts


def run_m4_benchmark(
    train: pd.DataFrame,
    test: pd.DataFrame,
    subset: str,
    out: str | Path,
    *,
    seeds: Sequence[int] = (0,),
    options: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the benchmark on ``read_m4``'s frames into the folder ``out`` (which must exist);
    returns the summary.

    Writes ``forecasts_seed{S}.csv``, ``per_series.csv`` (first seed, worst sMAPE first),
    ``metrics.json``, ``table.md`` and ``examples.png``.
    """
    out = Path(out)
    info = subset_info(subset)
    runs: list[dict[str, Any]] = []
    first: tuple[pd.DataFrame, pd.DataFrame] | None = None
    for seed in tqdm(list(seeds), desc=f"M4 {info.name}", unit="seed", disable=not progress):
        row, per_series, forecasts = run_seed(train, test, subset, seed, options or {}, out)
        runs.append(row)
        first = first or (per_series, forecasts)
    assert first is not None  # seeds is not empty
    per_series, forecasts = first
    per_series.sort_values("smape", ascending=False).to_csv(out / "per_series.csv", index=False)
    mean = {k: float(np.mean([r[k] for r in runs])) for k in SCORES if k in runs[0]}
    summary = {
        "subset": info.name,
        "series": int(train["id"].nunique()),
        "horizon": info.horizon,
        "seeds": runs,
        "mean": mean,
        "baselines": baseline_table(train, test, subset).to_dict(orient="records"),
        "published": published_table(info.name).to_dict(orient="records"),
        "train_seconds_per_seed": float(np.mean([r["seconds"] for r in runs])),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "options": options or {},
    }
    write_json(out / "metrics.json", summary)
    (out / "table.md").write_text(format_table(summary) + "\n")
    worst = per_series.sort_values("smape")["id"].tolist()
    picks = [worst[0], worst[len(worst) // 2], worst[-1]]  # best, median, worst sMAPE
    plot_m4_examples(train, test, forecasts, picks, out / "examples.png", info.horizon)
    return summary


def _cell(value: Any) -> str:
    """A table cell: 3 decimals, blank where the figure is missing (None or NaN)."""
    return "" if value is None or value != value else f"{value:.3f}"


TABLE = ("smape", "mase", "owa", "msis", "acd", "coverage", "coverage_80")


def format_table(summary: dict[str, Any]) -> str:
    """A markdown table: rnnkit (mean of the seeds) beside the baselines and published rows
    (sMAPE, MASE, OWA; the 95% interval's MSIS, ACD and coverage; the 80% coverage)."""
    lines = [
        "| method | sMAPE | MASE | OWA | MSIS | ACD | coverage 95% | coverage 80% |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    seeds = len(summary["seeds"])
    rows = [(f"rnnkit (mean of {seeds} seed{'s' * (seeds > 1)})", summary["mean"])]
    rows += [(f"{r['method']} (computed)", r) for r in summary["baselines"]]
    rows += [(f"{r['method']} (published)", r) for r in summary["published"]]
    for name, row in rows:
        lines.append(f"| {name} | " + " | ".join(_cell(row.get(k)) for k in TABLE) + " |")
    return "\n".join(lines)
