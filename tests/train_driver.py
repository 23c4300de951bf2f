"""A small training program for the tests that need a separate process (kill, signals, torchrun).

It trains a 2-layer GRU with dropout (so that random states matter) on the tutorial's sine
windows with rnnkit.training.fit, then writes the final weights to ``RUN/final.safetensors``
(rank 0).
Usage: python tests/train_driver.py RUN [--resume] [--checkpoint-every N] [--epochs E]
       [--batch-size B] [--samples S]
Exit codes follow the CLI: 2 for a UserError, 128 + signal when a signal stopped training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from rnnkit.compare.demo import DemoConfig, sine_examples
from rnnkit.errors import UserError
from rnnkit.models import ModelConfig, SequenceModel
from rnnkit.training import LossFn, TrainConfig, TrainingInterrupted, fit, regression_loss
from rnnkit.training.distributed import is_main_process

RESUME_HINT = "python tests/train_driver.py RUN --resume"


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--checkpoint-every", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--dropout", type=float, default=0.2)
    return parser.parse_args(argv)


def train(args: argparse.Namespace, loss_fn: LossFn = regression_loss) -> SequenceModel:
    """Build the task and the model from a fixed seed, fit, and return the trained model."""
    torch.set_num_threads(1)  # the same arithmetic in every process
    train_set, val_set, _ = sine_examples(DemoConfig(num_samples=args.samples))
    torch.manual_seed(0)
    model = SequenceModel(
        ModelConfig(cell="gru", hidden_size=8, num_layers=2, dropout=args.dropout)
    )
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=1e-2,
        patience=0,
        progress=False,
        log_every=0,
    )
    fit(
        model,
        train_set,
        val_set,
        config,
        loss_fn=loss_fn,
        run_dir=args.run_dir,
        resume=args.resume,
        checkpoint_every=args.checkpoint_every,
        resume_hint=RESUME_HINT,
    )
    return model


def main() -> int:
    args = options()
    try:
        model = train(args)
    except TrainingInterrupted as stop:
        return stop.exit_code
    except UserError as err:
        print(f"rnnkit: error: {err}", file=sys.stderr)
        return 2
    if is_main_process():
        weights = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(weights, str(args.run_dir / "final.safetensors"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
