"""Shared fixtures: a fixed seed for every test, tiny training settings, and a CLI runner."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.training import TrainConfig

# Tiny models run fastest, and most predictably on a shared 2-core machine, on one thread.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture
def tiny_train() -> TrainConfig:
    """A few quick epochs, no progress bar."""
    return TrainConfig(epochs=3, batch_size=16, lr=1e-2, patience=0, progress=False, log_every=0)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``rnnkit ARGS...`` in this process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:  # argparse exits on --help and on bad flags
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def cli_process() -> Callable[..., CliResult]:
    """Run ``python -m rnnkit ARGS...`` as a separate process (for tracebacks and signals)."""

    def run(*args: str, timeout: float = 120) -> CliResult:
        proc = subprocess.run(
            [sys.executable, "-m", "rnnkit", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


def assert_one_line_error(result: CliResult) -> None:
    """Exit code 2, exactly one non-empty line on stderr, and no traceback."""
    assert result.code == 2, (result.code, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads; on a shared 2-core box they only add waits."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def flag_help(help_text: str, flag: str) -> str:
    """``flag``'s entry in a command's --help: its line and the help lines under it."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(flag + " "))
    entry = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * 6) or not line.strip():  # the next flag, or a heading
            break
        entry.append(line)
    return " ".join(entry)
