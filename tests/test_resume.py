"""Crash safety across processes: SIGKILL mid-epoch then resume, SIGTERM and SIGINT exit codes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from rnnkit.errors import UserError
from rnnkit.training.checkpoint import CHECKPOINT, read_checkpoint
from tests.train_driver import options, train

DRIVER = Path(__file__).with_name("train_driver.py")
ROOT = DRIVER.parent.parent


def start_driver(run_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(DRIVER), str(run_dir), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_mid_epoch_checkpoint(run_dir: Path, proc: subprocess.Popen[str]) -> None:
    """Poll until the driver has written a checkpoint in the middle of an epoch."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before a mid-epoch checkpoint: {proc.stderr}"
        if (run_dir / CHECKPOINT).is_file():
            try:
                if read_checkpoint(run_dir)[1]["progress"]["step"] > 0:
                    return
            except UserError:  # written between our existence check and our read: retry
                pass
        time.sleep(0.002)
    raise AssertionError("no mid-epoch checkpoint within 120 s")


def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    proc = start_driver(run, "--epochs", "2", "--checkpoint-every", "3")
    wait_for_mid_epoch_checkpoint(run, proc)
    time.sleep(random.uniform(0, 0.02))  # anywhere in the following steps, even mid-write
    proc.kill()
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    progress = read_checkpoint(run)[1]["progress"]
    assert (progress["epoch"], progress["step"]) < (2, 0)  # it had not finished
    resumed = train(options([str(run), "--epochs", "2", "--resume"]))
    args = options(["unused", "--epochs", "2"])
    args.run_dir = None
    reference = train(args)
    for name, value in reference.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], value), name


def test_sigterm_stops_after_a_step_saves_and_says_how_to_resume(tmp_path: Path) -> None:
    signal_number, code = signal.SIGTERM, 143  # SIGINT (130): test_checkpoint.py and below
    proc = start_driver(tmp_path, "--epochs", "50", "--checkpoint-every", "2")
    wait_for_mid_epoch_checkpoint(tmp_path, proc)
    proc.send_signal(signal_number)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    name = signal.Signals(signal_number).name
    assert f"{name} at epoch" in lines[0] and "resume with: python tests/train_driver.py" in err
    assert str(tmp_path / CHECKPOINT) in lines[0]
    assert not (tmp_path / "final.safetensors").exists()
    progress = read_checkpoint(tmp_path)[1]["progress"]
    assert progress["epoch"] < 50
    # the saved weights are the ones training stopped with: loadable and finite
    tensors = load_file(str(tmp_path / CHECKPOINT))
    assert all(bool(torch.isfinite(t).all()) for k, t in tensors.items() if k.startswith("model."))


def test_cli_turns_an_interrupted_fit_into_exit_code_130(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # SIGINT arrives while `rnnkit demo` trains (before training it would be KeyboardInterrupt,
    # also 130, but then the "SIGINT at epoch" line below would be missing)
    before = signal.getsignal(signal.SIGINT)  # default, or ignored in a background job
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        result = cli(
            "demo",
            "--cells",
            "gru",
            "--epochs",
            "1000",
            "--patience",
            "0",
            "--no-progress",
            "--out",
            tmp_path / "demo",
        )
    finally:
        timer.cancel()
    assert result.code == 130, result.err
    assert "SIGINT at epoch" in result.err and "nothing was saved (no run folder)" in result.err
    assert signal.getsignal(signal.SIGINT) is before
