"""Training speed: throughput per cell and backend, time to the tutorial's accuracy, DDP 1 vs 2.

1. Windows per second trained, for every cell of the registry in every backend it has, on the
   tutorial's sine task (hidden 32, batch 32).
2. Time to reach the tutorial's accuracy: benchmarks/tutorial.py runs as a subprocess (its wall
   time and final test MSE, the target); rnnkit trains the same cell with the demo's settings in a
   subprocess too, and the wall time from launch until its test MSE first reaches the target, and
   1e-5, is taken. Both walls include starting Python and importing torch.
3. DDP: windows per second with 1 and 2 torchrun processes (gloo, CPU), global batch 64.
Writes benchmarks/results/train.json. Usage: python benchmarks/bench_train.py [--quick] [--json P]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from rnnkit.compare.demo import DemoConfig, sine_examples
from rnnkit.models import CELLS, ModelConfig, SequenceModel
from rnnkit.training import (
    LoopState,
    TrainConfig,
    cosine_lr,
    evaluate,
    fit,
    prepare,
    regression_loss,
    run_epoch,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_all import describe, format_rows, machine  # noqa: E402

HERE = Path(__file__).resolve().parent
QUIET = TrainConfig(epochs=1, batch_size=32, lr=2e-2, patience=0, progress=False, log_every=0)


def throughput(cell: str, backend: str, epochs: int) -> float:
    """Training windows per second (validation excluded) for one cell and backend."""
    train, _, _ = sine_examples(DemoConfig())
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(cell=cell, backend=backend, hidden_size=32))
    fit(model, train, None, QUIET)  # warm-up epoch
    start = time.perf_counter()
    fit(model, train, None, TrainConfig(**{**QUIET.__dict__, "epochs": epochs}))
    return len(train) * epochs / (time.perf_counter() - start)


def child_to_target(cell: str, targets: list[float]) -> None:
    """(Subprocess) train like the demo; print the wall clock when each target MSE is reached."""
    config = DemoConfig()
    train, _, test = sine_examples(config)
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(cell=cell, hidden_size=config.hidden_size))
    run = prepare(model, config.train, loss_fn=regression_loss)
    reached: dict[str, float | None] = {str(t): None for t in targets}
    for epoch in range(config.train.epochs):
        for group in run.optimizer.param_groups:
            group["lr"] = cosine_lr(epoch, config.train)
        run.state = LoopState()
        run_epoch(run, train, epoch)
        mse = evaluate(model, test)
        for target in targets:
            if mse <= target and reached[str(target)] is None:
                reached[str(target)] = time.time()
        if all(v is not None for v in reached.values()):
            break
    print(json.dumps({"reached": reached, "final_mse": mse, "epochs": epoch + 1}))


def to_target(cell: str) -> dict[str, Any]:
    """The tutorial's wall time and MSE, and rnnkit's wall time to that MSE and to 1e-5."""
    start = time.perf_counter()
    tutorial = subprocess.run(
        [sys.executable, str(HERE / "tutorial.py"), cell, "0", "/tmp/bench_tutorial.png"],
        capture_output=True,
        text=True,
        check=True,
    )
    tutorial_wall = time.perf_counter() - start
    match = re.search(r"test_mse (\S+)", tutorial.stdout)
    target = float(match.group(1)) if match else float("nan")
    launched = time.time()
    child = subprocess.run(
        [sys.executable, __file__, "--child-target", cell, str(target), "1e-5"],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    walls = {k: (v - launched if v else None) for k, v in result["reached"].items()}
    to_tutorial, to_tiny = walls[str(target)], walls["1e-05"]
    return {
        "cell": cell,
        "tutorial MSE": target,
        "tutorial s": tutorial_wall,
        "rnnkit s to it": to_tutorial,
        "speed-up": tutorial_wall / to_tutorial if to_tutorial else None,
        "rnnkit s to 1e-5": to_tiny,
        "rnnkit final MSE": result["final_mse"],
    }


def child_ddp(epochs: int) -> None:
    """(Under torchrun) train on a long sine; rank 0 prints windows per second."""
    from rnnkit.training.distributed import is_main_process

    torch.set_num_threads(1)
    train, _, _ = sine_examples(DemoConfig(num_samples=8000))
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(cell="gru", hidden_size=32))
    config = TrainConfig(**{**QUIET.__dict__, "epochs": epochs, "batch_size": 64})
    history = fit(model, train, None, config)
    if is_main_process():
        print(json.dumps({"windows_per_s": len(train) * epochs / history.train_seconds}))


def ddp(processes: int, epochs: int) -> float:
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}"]
    command += ["--standalone", __file__, "--child-ddp", str(epochs)]
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    return float(json.loads(line)["windows_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs, GRU only for 2.")
    parser.add_argument("--json", default=str(HERE / "results" / "train.json"))
    parser.add_argument("--child-target", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--child-ddp", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_target:
        child_to_target(args.child_target[0], [float(t) for t in args.child_target[1:]])
        return
    if args.child_ddp:
        child_ddp(args.child_ddp)
        return
    torch.set_num_threads(1)
    epochs = 1 if args.quick else 3
    rows: list[dict[str, Any]] = []
    for cell, backends in CELLS.items():
        for backend in backends:
            speed = throughput(cell, backend, epochs)
            rows.append({"measure": "windows/s", "cell": cell, "backend": backend, "value": speed})
            print(f"{cell:>16} {backend:>6}: {speed:,.0f} windows/s", flush=True)
    targets = [to_target(c) for c in (["gru"] if args.quick else ["rnn", "lstm", "gru"])]
    one, two = ddp(1, epochs), ddp(2, epochs)
    rows.append({"measure": "DDP windows/s", "cell": "gru", "backend": "1 process", "value": one})
    rows.append({"measure": "DDP windows/s", "cell": "gru", "backend": "2 processes", "value": two})
    info = machine()
    print(f"machine: {describe(info)}")
    print(format_rows(rows))
    print(format_rows(targets))
    print(f"DDP 2 processes / 1 process: {two / one:.2f}x")
    result = {"machine": info, "rows": rows + targets, "ddp_speedup": two / one}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
