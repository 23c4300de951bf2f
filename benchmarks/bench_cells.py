"""Benchmark rnnkit.nn cells against torch.nn (a script, not a test).

Prints forward (inference, no_grad) and forward+backward (training) times -- the median of
several repeats after warm-up, rnnkit and torch.nn interleaved so both see the same machine
load -- with the achieved GFLOP/s and the ratio rnnkit / torch.nn from the same run; then the
layer-norm variants, and MinGRU / MinLSTM parallel scan vs step-by-step loop.

    python benchmarks/bench_cells.py [--quick] [--threads N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

import rnnkit.nn as rn

GATES = {"rnn": 1, "lstm": 4, "gru": 3, "layernorm_lstm": 4, "layernorm_gru": 3}
RNNKIT = {
    "rnn": rn.RNN,
    "lstm": rn.LSTM,
    "gru": rn.GRU,
    "layernorm_lstm": rn.LayerNormLSTM,
    "layernorm_gru": rn.LayerNormGRU,
}
# The layer-norm variants are compared with the plain torch.nn cell they extend.
TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
TORCH |= {"layernorm_lstm": nn.LSTM, "layernorm_gru": nn.GRU}


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _interleaved(fns: list[Callable[[], object]], repeats: int, warmup: int) -> list[list[float]]:
    """Run the candidates in turn, ``repeats`` times each after ``warmup`` rounds."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            times[i].append(_timed(fn))
    return times


def _train_step(module: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def step() -> None:
        module.zero_grad(set_to_none=True)
        out, _ = module(x)
        out.sum().backward()

    return step


def _infer(module: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run() -> None:
        with torch.no_grad():
            module(x)

    return run


def bench_classic(cell: str, steps: int, batch: int, hidden: int, reps: int) -> dict:
    """rnnkit vs torch.nn for one cell type at (T, B, H) with input size H."""
    torch.manual_seed(0)
    ref = TORCH[cell](hidden, hidden)
    mine = RNNKIT[cell](hidden, hidden)
    if cell in ("rnn", "lstm", "gru"):
        mine.load_state_dict(ref.state_dict())
    x = torch.randn(steps, batch, hidden, requires_grad=True)
    flops = 2.0 * steps * batch * GATES[cell] * hidden * (hidden + hidden)  # two matmuls
    row = {"cell": cell, "T": steps, "B": batch, "H": hidden}
    for phase, make, mult in (("fwd", _infer, 1.0), ("fwd_bwd", _train_step, 3.0)):
        t_mine, t_ref = _interleaved([make(mine, x), make(ref, x)], reps, warmup=2)
        m, r = statistics.median(t_mine), statistics.median(t_ref)
        paired = statistics.median(a / b for a, b in zip(t_mine, t_ref, strict=True))
        row[phase] = {
            "rnnkit_ms": 1e3 * m,
            "torch_ms": 1e3 * r,
            "ratio": m / r,
            "paired_ratio": paired,
            "rnnkit_gflops": mult * flops / m / 1e9,
            "torch_gflops": mult * flops / r / 1e9,
        }
    return row


def bench_min(cell: str, steps: int, batch: int, hidden: int, reps: int) -> dict:
    """MinGRU/MinLSTM training step: parallel log-space scan vs the sequential loop."""
    torch.manual_seed(0)
    par = getattr(rn, cell)(hidden, hidden, mode="parallel")
    seq = getattr(rn, cell)(hidden, hidden, mode="sequential")
    seq.load_state_dict(par.state_dict())
    x = torch.randn(steps, batch, hidden, requires_grad=True)
    t_par, t_seq = _interleaved([_train_step(par, x), _train_step(seq, x)], reps, warmup=1)
    p, s = statistics.median(t_par), statistics.median(t_seq)
    row: dict = {"cell": cell, "T": steps, "B": batch, "H": hidden}
    return {**row, "parallel_ms": 1e3 * p, "sequential_ms": 1e3 * s, "speedup": s / p}


def machine() -> dict:
    return {
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    parser.add_argument("--json", default="benchmarks/results/cells.json", help="output file")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per case")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    reps = args.repeats or (3 if args.quick else 9)
    info = machine()
    print("machine: {processor}, {cpu_count} CPUs, {threads} threads, torch {torch}".format(**info))
    sizes = [(100, 64, 128)] if args.quick else [(100, 64, 128), (100, 64, 512)]
    cells = ["rnn", "lstm", "gru", "layernorm_lstm", "layernorm_gru"]
    head = f"{'cell':15} {'T':>4} {'B':>3} {'H':>4} | {'phase':7} {'rnnkit ms':>10} "
    print(head + f"{'torch ms':>9} {'ratio':>6} {'GF/s mine':>9} {'GF/s torch':>10}")
    classic = []
    for steps, batch, hidden in sizes:
        for cell in cells:
            row = bench_classic(
                cell, steps, batch, hidden, max(3, reps // 3) if "layer" in cell else reps
            )
            classic.append(row)
            for phase in ("fwd", "fwd_bwd"):
                r = row[phase]
                times = f"{r['rnnkit_ms']:10.1f} {r['torch_ms']:9.1f} {r['ratio']:6.2f}"
                rates = f"{r['rnnkit_gflops']:9.1f} {r['torch_gflops']:10.1f}"
                print(f"{cell:15} {steps:4} {batch:3} {hidden:4} | {phase:7} {times} {rates}")
    print("\nmin-RNN training step (fwd+bwd), parallel scan vs sequential loop")
    minimal = []
    for steps in (256, 1024) if args.quick else (256, 1024, 4096):
        for cell in ("MinGRU", "MinLSTM"):
            row = bench_min(cell, steps, 8, 64, max(2, reps // 3))
            minimal.append(row)
            par, seq = row["parallel_ms"], row["sequential_ms"]
            print(
                f"{cell:8} T={steps:5} B=8 H=64  parallel {par:8.1f} ms  "
                f"sequential {seq:8.1f} ms  speedup {row['speedup']:5.1f}x"
            )
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": info, "classic": classic, "min": minimal}, indent=2))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
