"""``--config FILE``: a TOML or JSON file of a command's options, checked like its flags.

Keys are the command's long option names (``hidden-size`` or ``hidden_size``); each value is
checked by the same type and choices as the flag, so a wrong type or an unknown key is a one-line
error that names it (and suggests the closest key). Flags given on the command line win over the
file. The run folder's ``config.json`` records the resulting configuration, as always.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rnnkit.errors import UserError, closest

NOT_SETTABLE = {"config", "help", "func", "config_parser"}


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="a TOML or JSON file of options (keys: the long flag names); flags given here win",
    )
    parser.set_defaults(config_parser=parser)


def read_config(path: Path) -> dict[str, Any]:
    """The file's top-level table as a dict; anything unreadable is a UserError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"config file '{path}' does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read config file '{path}': {err}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            import tomllib  # Python >= 3.11

            data = tomllib.loads(text)
        else:
            raise UserError(f"config file '{path}' must end in .toml or .json")
    except ImportError:
        raise UserError("TOML config files need Python 3.11 or newer; use JSON") from None
    except ValueError as err:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise UserError(f"config file '{path}' is malformed: {err}") from None
    if not isinstance(data, dict):
        raise UserError(f"config file '{path}' must hold a table of options")
    return data


def _action(parser: argparse.ArgumentParser, key: str, path: Path) -> argparse.Action:
    """The flag a key names: its long flag (``layers``) or its config field (``num_layers``).

    The flags are those the command's parser recorded as they were declared (``Parser.options``
    in :mod:`rnnkit.cli.common`), not argparse's private list.
    """
    actions: dict[str, argparse.Action] = {}
    for action in getattr(parser, "options", []):
        if action.option_strings and action.dest not in NOT_SETTABLE:
            actions[action.dest.replace("_", "-")] = action
            for flag in action.option_strings:
                actions[flag.lstrip("-")] = action
    name = key.replace("_", "-")
    if name not in actions:
        names = sorted(n for n in actions if len(n) > 1)
        raise UserError(f"config file '{path}': unknown option '{key}'{closest(name, names)}")
    return actions[name]


def _value(action: argparse.Action, key: str, value: Any, path: Path) -> Any:
    """``value`` checked and converted exactly as the flag's own text would be."""
    where = f"config file '{path}': option '{key}'"
    if action.nargs == 0:  # store_true / store_false flags
        if not isinstance(value, bool):
            raise UserError(f"{where} must be true or false, got {value!r}")
        return value if action.const is True else not value
    if isinstance(value, dict | list) or value is None or isinstance(value, bool):
        raise UserError(f"{where} must be a number or a string, got {value!r}")
    convert = action.type if callable(action.type) else str
    try:
        converted = convert(str(value))
    except (argparse.ArgumentTypeError, ValueError, TypeError) as err:
        raise UserError(f"{where}: {err}") from None
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise UserError(f"{where} is {value!r}; choose one of: {choices}")
    return converted


def apply_config(args: argparse.Namespace, parse: Any) -> argparse.Namespace:
    """Re-parse with the config file's values as the subcommand's defaults."""
    path = Path(args.config)
    parser: argparse.ArgumentParser = args.config_parser
    values = {}
    for key, value in read_config(path).items():
        action = _action(parser, str(key), path)
        values[action.dest] = _value(action, str(key), value, path)
    parser.set_defaults(**values)
    new_args: argparse.Namespace = parse()
    return new_args
