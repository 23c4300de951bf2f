"""`rnnkit demo` against the tutorial's script: wall time and test MSE, measured side by side.

Runs, alternating A/B, ``rnnkit demo`` (all three cells, one process) and the tutorial's script
three times (once per cell, three processes), several rounds; prints the median wall times and
their ratio, and the test MSE each reaches for seeds 0, 1, 2. Writes benchmarks/results/demo.json.
Usage: python benchmarks/bench_demo.py [--rounds 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CELLS = ("rnn", "lstm", "gru")


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, proc.stdout


def run_rnnkit(seed: int, out: str) -> tuple[float, dict[str, float]]:
    cmd = [sys.executable, "-m", "rnnkit", "demo", "--seed", str(seed), "--out", out]
    seconds, _ = timed([*cmd, "--overwrite", "--no-progress"])
    results = json.loads((Path(out) / "metrics.json").read_text())["results"]
    return seconds, {r["cell"]: r["test_mse"] for r in results}


def run_tutorial(seed: int, out: str) -> tuple[float, dict[str, float]]:
    total, mses = 0.0, {}
    for cell in CELLS:
        cmd = [sys.executable, str(HERE / "tutorial.py"), cell, str(seed), f"{out}/{cell}.png"]
        seconds, stdout = timed(cmd)
        total += seconds
        match = re.search(r"test_mse (\S+)", stdout)
        mses[cell] = float(match.group(1)) if match else float("nan")
    return total, mses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed A/B rounds")
    parser.add_argument("--quick", action="store_true", help="one round (for run_all.py)")
    parser.add_argument("--json", default=str(HERE / "results" / "demo.json"))
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    out = tempfile.mkdtemp(prefix="rnnkit-bench-")
    times: dict[str, list[float]] = {"rnnkit": [], "tutorial": []}
    mses: dict[str, dict[str, dict[str, float]]] = {"rnnkit": {}, "tutorial": {}}
    run_rnnkit(0, out)  # warm-up: file caches, imports
    for i in range(args.rounds):
        seed = i % 3
        t_r, m_r = run_rnnkit(seed, out)
        t_t, m_t = run_tutorial(seed, out)
        times["rnnkit"].append(t_r)
        times["tutorial"].append(t_t)
        mses["rnnkit"][str(seed)], mses["tutorial"][str(seed)] = m_r, m_t
    ratios = [r / t for r, t in zip(times["rnnkit"], times["tutorial"], strict=True)]
    machine = f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}"
    report = {
        "machine": machine,
        "python": sys.version.split()[0],
        "rounds": args.rounds,
        "median_seconds": {k: statistics.median(v) for k, v in times.items()},
        "median_ratio_rnnkit_over_tutorial": statistics.median(ratios),
        "test_mse": mses,
    }
    print(f"machine: {machine}")
    print(f"{'':<28}{'median wall s':>14}")
    print(f"{'rnnkit demo (3 cells)':<28}{report['median_seconds']['rnnkit']:>14.2f}")
    print(f"{'tutorial script x3':<28}{report['median_seconds']['tutorial']:>14.2f}")
    print(
        "ratio rnnkit / tutorial (median of pairs): "
        f"{report['median_ratio_rnnkit_over_tutorial']:.2f}"
    )
    print(f"\n{'seed':<6}{'cell':<6}{'rnnkit test MSE':>18}{'tutorial test MSE':>20}")
    for seed in sorted(mses["rnnkit"]):
        for cell in CELLS:
            print(
                f"{seed:<6}{cell:<6}{mses['rnnkit'][seed][cell]:>18.2e}"
                f"{mses['tutorial'][seed][cell]:>20.2e}"
            )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
