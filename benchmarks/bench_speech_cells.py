"""Spoken digits with each recurrent cell at one budget (a script, not a test).

Every cell trains the isolated-digit recogniser on the FSDD official split with the same data,
seed, sizes (2 bidirectional layers of 128 units), schedule and number of epochs, keeping the
mean of the last epochs' weights as the defaults do; the test accuracy, parameters, training
wall and CPU time and the load average are recorded for each (the machine may be shared).

    python benchmarks/bench_speech_cells.py --data ../shared/data/fsdd/recordings \\
        [--cells gru,lstm,rnn] [--epochs 15] [--average-epochs 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch

from rnnkit.config import override
from rnnkit.speech.data import build_datasets
from rnnkit.speech.recognizer import DigitRecognizer, RecognizerConfig, for_task


def run_one(data: str, cell: str, epochs: int, average: int, seed: int) -> dict[str, Any]:
    options = {"cell": cell, "epochs": epochs, "average_epochs": average, "seed": seed}
    config = for_task(override(RecognizerConfig(), {**options, "progress": False}))
    recognizer = DigitRecognizer(config, device="cpu")
    train, val, test = build_datasets(
        data, "isolated", "official", recognizer.features, config.features.sample_rate,
        seed=seed, perturbation=config.perturb,
    )  # fmt: skip
    cpu = time.process_time()
    history = recognizer.fit(train, val)
    cpu = time.process_time() - cpu
    row = {
        "cell": cell,
        "parameters": recognizer.parameters(),
        "test_accuracy": recognizer.evaluate(test)["accuracy"],
        "validation_accuracy": recognizer.evaluate(val)["accuracy"],
        "val_loss_by_epoch": [round(r.val_loss or 0.0, 4) for r in history.records],
        "train_seconds": round(recognizer.train_seconds, 1),
        "train_cpu_seconds": round(cpu, 1),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    if recognizer.best_epoch_weights is not None:
        recognizer.model.load_state_dict(recognizer.best_epoch_weights)
        row["test_accuracy_best_epoch_weights"] = recognizer.evaluate(test)["accuracy"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--cells", default="gru,lstm,rnn")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--average-epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="benchmarks/results/speech_cells.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for cell in args.cells.split(","):
        rows.append(run_one(args.data, cell, args.epochs, args.average_epochs, args.seed))
        print(json.dumps(rows[-1]), flush=True)
    result = {
        "task": "isolated digits, FSDD official split",
        "epochs": args.epochs,
        "average_epochs": args.average_epochs,
        "seed": args.seed,
        "rows": rows,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": 1,
            "torch": torch.__version__,
        },
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
