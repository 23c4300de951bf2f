"""Run every benchmarks/bench_*.py script and print one combined table.

Each script is run as ``python benchmarks/bench_X.py [--quick] --json results/X.json``
(``--quick`` only where the script's --help offers it); every table row a script writes under
``"rows"`` in its JSON becomes a line here. Writes benchmarks/results/all.json.
Usage: python benchmarks/run_all.py [--quick] [--only train,scale]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> dict[str, Any]:
    """The machine a benchmark ran on, named in every output."""
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpu": gpu,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def describe(info: dict[str, Any]) -> str:
    gpu = f", GPU {info['gpu']}" if info.get("gpu") else ", no GPU"
    load = info.get("load_average")
    busy = f", load {load:.1f}" if load is not None else ""
    return f"{info['cpu']} ({info['cores']} cores{gpu}{busy}), torch {info['torch']}"


def format_rows(rows: list[dict[str, Any]]) -> str:
    """A plain text table of dicts (columns in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def run_script(script: Path, quick: bool) -> dict[str, Any]:
    out = RESULTS / f"{script.stem.removeprefix('bench_')}.json"
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True
    ).stdout
    cmd = [sys.executable, str(script), "--json", str(out)]
    if quick and "--quick" in help_text:
        cmd.append("--quick")
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    result: dict[str, Any] = {"script": script.name, "seconds": seconds, "code": proc.returncode}
    if proc.returncode != 0:
        result["error"] = (proc.stderr.strip().splitlines() or ["failed"])[-1]
    elif out.is_file():
        result["result"] = json.loads(out.read_text())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--only", default="", help="comma-separated names (train,scale,...)")
    parser.add_argument("--json", default=str(RESULTS / "all.json"))
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    scripts = sorted(HERE.glob("bench_*.py"))
    scripts = [s for s in scripts if not wanted or s.stem.removeprefix("bench_") in wanted]
    info = machine()
    print(f"machine: {describe(info)}")
    runs = []
    for script in scripts:
        print(f"\n== {script.name}", flush=True)
        run = run_script(script, args.quick)
        runs.append(run)
        rows = run.get("result", {}).get("rows") if isinstance(run.get("result"), dict) else None
        if rows:
            print(format_rows(rows))
        else:
            print(run.get("error") or f"done in {run['seconds']:.1f} s (no table rows)")
    Path(args.json).write_text(json.dumps({"machine": info, "runs": runs}, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
