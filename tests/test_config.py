"""rnnkit.config: flags, files and flat options all derive from the config dataclasses."""

from __future__ import annotations

import argparse
import json

import pytest
import tomllib

from rnnkit.classify.classifier import ClassifierConfig
from rnnkit.config import add_flags, from_args, from_dict, option_names, override, to_dict
from rnnkit.errors import UserError
from rnnkit.forecasting.config import ForecasterConfig
from rnnkit.models import ModelConfig
from rnnkit.speech.recognizer import RecognizerConfig
from rnnkit.text.charlm import CharLMConfig
from rnnkit.training import TrainConfig
from rnnkit.translate import TranslatorConfig


def _toml(data: dict) -> str:
    """A minimal TOML writer for nested tables of scalars (what a tuner's best.toml holds)."""
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{key} = {json.dumps(value)}")
    for key, value in tables:
        lines.append(f"[{key}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in value.items() if v is not None]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "cls",
    [
        TrainConfig,
        ModelConfig,
        CharLMConfig,
        ClassifierConfig,
        ForecasterConfig,
        TranslatorConfig,
        RecognizerConfig,
    ],
)
def test_configs_round_trip_through_json_and_toml(cls: type) -> None:
    names = set(option_names(cls()))
    wanted = {"lr": 0.05, "seed": 7, "hidden_size": 12, "window": 30, "likelihood": "gaussian"}
    config = override(cls(), {k: v for k, v in wanted.items() if k in names})
    assert config != cls()
    data = to_dict(config)
    assert from_dict(cls, json.loads(json.dumps(data))) == config
    assert from_dict(cls, tomllib.loads(_toml(data))) == config  # TOML has no null: defaults


def test_the_forecaster_records_flat_options_that_rebuild_it() -> None:
    config = ForecasterConfig.from_options({"cell": "gru", "epochs": 5, "window": 24})
    flat = config.options()
    assert flat["cell"] == "gru" and flat["epochs"] == 5 and flat["window"] == 24
    assert ForecasterConfig.from_options(json.loads(json.dumps(flat))) == config


def test_unknown_keys_and_options_are_one_line_errors_with_a_suggestion() -> None:
    with pytest.raises(UserError, match="did you mean 'hidden_size'"):
        override(CharLMConfig(), {"hiden_size": 3})
    with pytest.raises(UserError, match="unknown config.train key 'lrr'"):
        from_dict(CharLMConfig, {"train": {"lrr": 1.0}})


def test_every_option_becomes_a_flag_with_its_default_and_help() -> None:
    parser = argparse.ArgumentParser()
    add_flags(parser, CharLMConfig())
    flags = {a.dest: a for a in parser._actions if a.option_strings}
    assert set(option_names(CharLMConfig())) <= set(flags)
    assert flags["num_layers"].option_strings == ["--layers"]
    assert flags["clip_norm"].option_strings == ["--clip"]
    assert flags["seq_len"].default == CharLMConfig().seq_len
    assert all(action.help for action in flags.values())
    assert "input_size" not in flags and "output_size" not in flags  # taken from the data


def test_flags_reach_the_config() -> None:
    parser = argparse.ArgumentParser()
    add_flags(parser, ClassifierConfig())
    args = parser.parse_args(["--layers", "3", "--clip", "0.5", "--cell", "lstm", "--lr", "0.1"])
    config = from_args(ClassifierConfig(), args)
    assert (config.model.num_layers, config.model.cell) == (3, "lstm")
    assert (config.train.clip_norm, config.train.lr) == (0.5, 0.1)
    assert config.train.epochs == ClassifierConfig().train.epochs  # untouched defaults kept


def test_a_bad_flag_value_is_refused_by_its_type() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_flags(parser, ModelConfig())
    with pytest.raises(argparse.ArgumentError):
        parser.parse_args(["--hidden-size", "0"])
