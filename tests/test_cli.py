"""The command line end to end: the demo, help texts and bad input."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rnnkit.cli import build_parser
from tests.conftest import assert_one_line_error


def test_demo_end_to_end(cli, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = cli("demo", "--epochs", "2", "--samples", "200", "--hidden-size", "8", "--out", out)
    assert result.code == 0, result.err
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["task"] == "sine"
    assert [r["cell"] for r in summary["results"]] == ["rnn", "lstm", "gru"]
    for r in summary["results"]:
        assert {"test_mse", "naive_mse", "train_seconds", "epochs", "params"} <= set(r)
        assert r["epochs"] == 2 and r["params"] > 0
    for name in ("predictions.png", "learning_curves.png", "config.json", "model_gru.safetensors"):
        assert (out / name).stat().st_size > 0
    assert "naive MSE" in result.out and "lstm" in result.out


def test_demo_refuses_non_empty_out_without_overwrite(cli, tmp_path: Path) -> None:
    keep = tmp_path / "mine.txt"
    keep.write_text("precious")
    result = cli("demo", "--epochs", "1", "--out", tmp_path)
    assert_one_line_error(result)
    assert "--overwrite" in result.err
    assert keep.read_text() == "precious"


def _parsers(parser: argparse.ArgumentParser, path: str = "rnnkit") -> Iterator[tuple]:
    """(command path, parser) for the top level and every subcommand, recursively."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_help_explains_every_flag_of_every_command(cli) -> None:
    commands = list(_parsers(build_parser()))
    assert len(commands) >= 12
    for path, parser in commands:
        for action in parser._actions:
            if action.option_strings:
                assert action.help and action.help != argparse.SUPPRESS, (path, action.dest)
                assert len(action.help) > 10, (path, action.option_strings, action.help)
        result = cli(*path.split()[1:], "--help")
        assert result.code == 0 and "usage:" in result.out, path


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--cells", "rnn,lstn"], "did you mean 'lstm'"),
        (["--hidden-size", "0"], "positive"),
        (["--hidden-size", "-4"], "positive"),
        (["--epochs", "zero"], "positive integer"),
        (["--window", "5000"], "longer"),
        (["--backend", "cudnn"], "invalid choice"),
        (["--device", "tpu"], "device"),
        (["--no-such-flag"], "unrecognized"),
    ],
)
def test_bad_demo_input_is_one_line_exit_2(
    cli, tmp_path: Path, args: list[str], needle: str
) -> None:
    result = cli("demo", *args, "--out", tmp_path / "o")
    assert_one_line_error(result)
    assert needle in result.err
    assert not (tmp_path / "o").exists()


def test_unwritable_out_is_one_line_exit_2(cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli("demo", "--epochs", "1", "--out", blocker / "sub")
    assert_one_line_error(result)
    assert blocker.read_text() == "x"


def test_python_dash_m_works(cli_process) -> None:
    result = cli_process("--version")
    assert result.code == 0 and "rnnkit" in result.out


def test_closed_pipe_is_quiet() -> None:
    """`rnnkit datasets | head -1`: the reader is gone before rnnkit writes; no traceback."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnkit", "datasets"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # closed long before the import finishes, so every write hits EPIPE
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and err.strip() == "", err


def test_out_of_memory_is_one_line_exit_2(cli, tmp_path: Path) -> None:
    # 2.4 TB of adding-problem inputs: the allocation fails at once
    result = cli("compare", "--task", "adding", "--length", "100000000", "--out", tmp_path / "o")
    assert_one_line_error(result)
    assert "out of memory" in result.err


def test_absurd_forecast_length_is_refused(cli, tmp_path: Path) -> None:
    result = cli("predict", tmp_path, "--steps", "100000000")
    assert_one_line_error(result)
    assert "100000" in result.err


@pytest.mark.parametrize("verb", ["train", "predict", "backtest", "export"])
def test_forecast_verbs_are_a_group_and_top_level_aliases(cli, verb: str) -> None:
    grouped, alias = cli("forecast", verb, "--help"), cli(verb, "--help")
    assert grouped.code == alias.code == 0
    assert grouped.out.replace("rnnkit forecast ", "rnnkit ").split() == alias.out.split()


def test_every_training_command_takes_resume_run(cli) -> None:
    commands = (["train"], ["forecast", "train"], ["lm", "train"], ["classify", "train"])
    for command in (*commands, ["translate", "train"], ["speech", "train"]):
        assert "--resume [RUN]" in cli(*command, "--help").out, command
