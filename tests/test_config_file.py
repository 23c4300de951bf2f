"""`--config FILE`: options from TOML or JSON, checked like flags; flags on the line win."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error


def demo_args(tmp_path: Path, config: Path, *extra: str) -> list[str]:
    return [
        "demo",
        "--config",
        str(config),
        "--samples",
        "200",
        "--out",
        str(tmp_path / "o"),
        *extra,
    ]


@pytest.mark.parametrize(
    "name,text",
    [
        ("c.toml", 'cells = "gru"\nepochs = 2\nhidden_size = 4\n'),
        ("c.json", '{"cells": "gru", "epochs": 2, "hidden-size": 4}'),
    ],
)
def test_config_values_are_used(cli, tmp_path: Path, name: str, text: str) -> None:
    config = tmp_path / name
    config.write_text(text)
    result = cli(*demo_args(tmp_path, config))
    assert result.code == 0, result.err
    saved = json.loads((tmp_path / "o" / "config.json").read_text())["demo"]
    assert saved["cells"] == ["gru"] and saved["hidden_size"] == 4
    assert saved["train"]["epochs"] == 2


def test_flags_on_the_command_line_win(cli, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('cells = "rnn"\nepochs = 3\nhidden_size = 4\n')
    result = cli(*demo_args(tmp_path, config, "--epochs", "1"))
    assert result.code == 0, result.err
    saved = json.loads((tmp_path / "o" / "config.json").read_text())["demo"]
    assert saved["train"]["epochs"] == 1 and saved["hidden_size"] == 4


@pytest.mark.parametrize(
    "name,text,needle",
    [
        ("unknown.toml", "hiden_size = 8\n", "did you mean 'hidden-size'"),
        ("type.json", '{"epochs": "many"}', "epochs"),
        ("negative.toml", "epochs = -3\n", "positive"),
        ("list.toml", "epochs = [1, 2]\n", "number or a string"),
        ("flag.toml", 'no_progress = "yes"\n', "true or false"),
        ("choice.toml", 'backend = "cudnn"\n', "choose one of"),
        ("bad_cell.toml", 'cells = "lstn"\n', "did you mean 'lstm'"),
        ("broken.toml", "epochs = = 3\n", "malformed"),
        ("broken.json", '{"epochs": ', "malformed"),
        ("array.json", "[1, 2]", "table of options"),
        ("c.yaml", "epochs: 3\n", ".toml or .json"),
        ("out.toml", 'config = "other.toml"\n', "unknown option"),
    ],
)
def test_bad_config_is_one_line_exit_2(cli, tmp_path: Path, name: str, text: str, needle: str):
    config = tmp_path / name
    config.write_text(text)
    result = cli(*demo_args(tmp_path, config))
    assert_one_line_error(result)
    assert needle in result.err
    assert not (tmp_path / "o").exists()


def test_missing_config_file(cli, tmp_path: Path) -> None:
    result = cli(*demo_args(tmp_path, tmp_path / "nope.toml"))
    assert_one_line_error(result)
    assert "does not exist" in result.err


def test_config_reaches_forecasting_commands(cli, tmp_path: Path) -> None:
    config = tmp_path / "f.json"
    config.write_text('{"window": "many"}')
    result = cli("train", "--data", "airpassengers", "--config", config, "--out", tmp_path / "r")
    assert_one_line_error(result)
    assert "window" in result.err
