"""Large data: a 10-million-point series, windows as views, memory and batch-fetch time.

Builds Examples over a float32 series with sliding_windows and a chronological split, then trains
a few hundred steps through the fit loop's own batch path
(rnnkit.training.distributed.epoch_batches, the seeded on-demand epoch order, then
rnnkit.training.train_step). Reports the peak resident memory
added by each phase (Linux VmHWM, reset through /proc/self/clear_refs; otherwise ru_maxrss) as
a multiple of the raw series' bytes, what copying the windows would have cost, and the fraction
of step time spent fetching batches. Writes benchmarks/results/scale.json.
Usage: python benchmarks/bench_scale.py [--quick] [--points N] [--steps S] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DistributedSampler

from rnnkit.data import Examples, chronological_split, sliding_windows
from rnnkit.models import ModelConfig, SequenceModel
from rnnkit.training import regression_loss, to_device, train_step
from rnnkit.training.distributed import Context, epoch_batches

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_all import describe, format_rows, machine  # noqa: E402

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024


def _status(field: str) -> int | None:
    """A /proc/self/status figure in bytes (Linux), else None."""
    status = Path("/proc/self/status")
    if not status.is_file():
        return None
    for line in status.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return None


def reset_peak() -> int:
    """Reset the peak-RSS mark to the current RSS where the kernel allows; return that RSS."""
    with contextlib.suppress(OSError):  # not Linux, or not allowed: ru_maxrss is used
        Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak() -> int:
    return _status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_series(points: int) -> torch.Tensor:
    """A noisy sine of ``points`` float32 values: the raw data."""
    t = torch.arange(points, dtype=torch.float32)  # (points,)
    return torch.sin(t * 0.01) + 0.1 * torch.sin(t * 0.37)


def build(series: torch.Tensor, window: int) -> Examples:
    """Training windows of ``series`` (views, chronological split), as fit would get them."""
    x, y = sliding_windows(series, window)  # (N, window, 1), (N, 1, 1): views of series
    examples = Examples(x, y.reshape(-1, 1))
    split = chronological_split(len(examples), test=0.1, val=0.05)
    return examples.subset(split.train)


def train_steps(train: Examples, steps: int, batch_size: int) -> dict[str, float]:
    """``steps`` optimiser steps; seconds fetching batches vs. in the step itself."""
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(cell="gru", hidden_size=32))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    context = Context(0, 1, torch.device("cpu"))
    batches = epoch_batches(train, batch_size, 0, 0, 0, context)
    fetch = compute = 0.0
    for _ in range(steps):
        start = time.perf_counter()
        _, batch = next(batches)
        batch = to_device(batch, context.device)
        middle = time.perf_counter()
        train_step(model, batch, regression_loss, optimizer, 1.0)
        fetch, compute = fetch + middle - start, compute + time.perf_counter() - middle
    return {"fetch_seconds": fetch, "step_seconds": compute}


def stock_sampler_peak(n: int) -> int:
    """Bytes added at the peak before torch's DistributedSampler yields its first index of an
    ``n``-sample epoch (it lists the whole permutation: ``randperm(n).tolist()``)."""
    before = reset_peak()
    sampler = DistributedSampler(range(n), num_replicas=1, rank=0, shuffle=True, seed=0)
    next(iter(sampler))
    return peak() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M points, 100 steps")
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", default=str(HERE / "results" / "scale.json"))
    args = parser.parse_args()
    if args.quick:
        args.points, args.steps = 1_000_000, 100
    torch.set_num_threads(1)
    train_steps(build(make_series(10_000), args.window), 5, args.batch_size)  # warm-up
    series = make_series(args.points)
    before = reset_peak()
    train = build(series, args.window)
    built = peak() - before
    raw = series.numel() * series.element_size()
    before_training = reset_peak()
    times = train_steps(train, args.steps, args.batch_size)
    trained = peak() - before_training + built
    copied = len(train) * (args.window + 1) * series.element_size()
    stock = stock_sampler_peak(len(train))
    fraction = times["fetch_seconds"] / (times["fetch_seconds"] + times["step_seconds"])
    rows: list[dict[str, Any]] = [
        {"phase": "raw series", "MB": raw / MB, "x raw": 1.0},
        {"phase": "build Examples (views)", "MB": built / MB, "x raw": built / raw},
        {"phase": f"+ train {args.steps} steps", "MB": trained / MB, "x raw": trained / raw},
        {"phase": "(windows if copied)", "MB": copied / MB, "x raw": copied / raw},
        {"phase": "(torch DistributedSampler's order)", "MB": stock / MB, "x raw": stock / raw},
        {
            "phase": "batch fetch share of step",
            "MB": None,
            "x raw": None,
            "fetch %": 100 * fraction,
            "ms/step": 1000 * (times["fetch_seconds"] + times["step_seconds"]) / args.steps,
        },
    ]
    info = machine()
    print(f"machine: {describe(info)}")
    print(f"{args.points:,} points, window {args.window}, batch {args.batch_size}, GRU 32")
    print(format_rows(rows))
    result = {"machine": info, "settings": vars(args), "rows": rows, **times}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
