"""The `rnnkit` command: one module per subcommand, errors turned into exit code 2.

Each subcommand module has ``register(subparsers)``, which adds its parser and sets ``func``.
Expected failures raise :class:`rnnkit.errors.UserError`; ``main`` prints them as one line on
stderr and returns 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from rnnkit._version import __version__
from rnnkit.cli import benchmark as benchmark_cli
from rnnkit.cli import classify, demo, forecast, speech, text
from rnnkit.cli import compare as compare_cli
from rnnkit.cli import translate as translate_cli
from rnnkit.cli import tune as tune_cli
from rnnkit.cli.common import Parser
from rnnkit.cli.config_file import apply_config
from rnnkit.errors import UserError
from rnnkit.training.interrupts import TrainingInterrupted

COMMANDS = [
    demo,
    forecast,
    text,
    classify,
    compare_cli,
    benchmark_cli,
    translate_cli,
    speech,
    tune_cli,
]  # forecast: also export


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="rnnkit",
        description="Recurrent neural networks in PyTorch: forecasting, text and classification.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def is_out_of_memory(err: BaseException) -> bool:
    """Whether a torch RuntimeError is a failed allocation (CPU or CUDA)."""
    text = str(err)
    return "can't allocate memory" in text or "out of memory" in text.lower()


class _Stderr(logging.Handler):
    """Log records as plain lines on the *current* sys.stderr (the library itself only logs)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)


def show_logs() -> None:
    """rnnkit's INFO lines (epoch losses, progress) on stderr, once per process."""
    logger = logging.getLogger("rnnkit")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        logger.addHandler(_Stderr())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    show_logs()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "config", None):
            args = apply_config(args, lambda: parser.parse_args(argv))
        return int(args.func(args))
    except (UserError, argparse.ArgumentTypeError) as err:
        message = " ".join(str(err).split())  # always one line
        print(f"rnnkit: error: {message}", file=sys.stderr)
        return 2
    except TrainingInterrupted as stop:  # fit saved its checkpoint and said how to resume
        return stop.exit_code
    except KeyboardInterrupt:
        print("rnnkit: interrupted", file=sys.stderr)
        return 130
    except (MemoryError, RuntimeError) as err:  # torch reports failed allocations as RuntimeError
        if not isinstance(err, MemoryError) and not is_out_of_memory(err):
            raise
        print(
            "rnnkit: error: out of memory; use smaller sizes (--batch-size, --length, "
            "--hidden-size, --window, --steps) or a machine with more memory",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:  # `rnnkit datasets | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit-time flush cannot fail again
        return 141  # 128 + SIGPIPE, as a shell reports it
