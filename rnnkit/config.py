"""Configuration as typed dataclasses, written once: defaults, help, flags and files derive from it.

A config field that users may set is declared with :func:`option` (default + one line of help,
optionally the flag's name, its argparse type and choices). From the dataclass alone:

- :func:`add_flags` declares the argparse flags (one group per nested dataclass);
- :func:`from_args` builds the config back from the parsed flags;
- :func:`to_dict` / :func:`from_dict` round-trip it through JSON or TOML (``config.json``,
  ``--config FILE``, a tuner's ``best.toml``), an unknown key being a one-line UserError;
- :func:`override` sets fields by their flat names (``Forecaster(cell="gru", epochs=50)``);
  :func:`to_flat` is the other way (a flat record, as the forecaster's run folders keep it).

Fields declared with a plain default (no :func:`option`) are not user options: sizes taken from
the data, internal switches. Flat names are unique across one config's nested dataclasses.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from rnnkit.errors import UserError, unknown

T = TypeVar("T")


# --- value types: read a flag's (or a config file's) text, or raise ArgumentTypeError ---------


def _number(text: str, cast: Callable[[str], Any], ok: Callable[[Any], bool], what: str) -> Any:
    """``cast(text)`` if it is a number for which ``ok`` holds, else ArgumentTypeError."""
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
    return value


def positive_int(text: str) -> int:
    value: int = _number(text, int, lambda v: v > 0, "a positive integer")
    return value


def non_negative_int(text: str) -> int:
    value: int = _number(text, int, lambda v: v >= 0, "an integer >= 0")
    return value


def positive_float(text: str) -> float:
    finite = float("inf")
    value: float = _number(text, float, lambda v: 0 < v < finite, "a positive finite number")
    return value


def non_negative_float(text: str) -> float:
    finite = float("inf")
    value: float = _number(text, float, lambda v: 0 <= v < finite, "a finite number >= 0")
    return value


def fraction(text: str) -> float:
    value: float = _number(text, float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")
    return value


def name_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def int_list(text: str) -> list[int]:
    try:
        return [int(n) for n in name_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got '{text}'"
        ) from None


# --- declaring options -------------------------------------------------------------------


def option(
    default: Any = None,
    help: str = "",
    *,
    flag: str | None = None,
    type: Callable[[str], Any] | None = None,
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """A user-settable field: its default, its help, and how its flag reads text."""
    meta = {"help": help, "flag": flag, "type": type, "choices": choices}
    if isinstance(default, list):  # a fresh list per instance
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def option_like(cls: type, name: str, default: Any) -> Any:
    """``cls``'s option ``name`` (help, flag, type) with another default, for a subclass."""
    meta = {f.name: f for f in dataclasses.fields(cls)}[name].metadata
    return dataclasses.field(default=default, metadata=meta)


def is_option(f: dataclasses.Field) -> bool:
    return "help" in f.metadata


def _walk(config: Any, *, leaves: bool = False) -> Iterator[tuple[Any, dataclasses.Field]]:
    """(owner, field) for every option (``leaves``: every plain field) of ``config`` and its
    nested dataclasses, in order."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            yield from _walk(value, leaves=leaves)
        elif leaves or is_option(f):
            yield config, f


def option_names(config: Any) -> list[str]:
    """The flat names of every option of ``config``."""
    return [f.name for _, f in _walk(config)]


def override(config: T, options: dict[str, Any], *, what: str = "option") -> T:
    """A copy of ``config`` with options set by flat name; an unknown name is a UserError."""
    config = from_dict(type(config), to_dict(config))  # a deep copy
    owners = {f.name: owner for owner, f in _walk(config, leaves=True)}
    for name, value in options.items():
        if name not in owners:
            raise unknown(what, name, sorted(owners))
        setattr(owners[name], name, value)
    return config


def to_flat(config: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every leaf field by its flat name (names are unique across the nested dataclasses)."""
    flat: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            flat.update(to_flat(value, skip=skip))
        elif f.name not in skip:
            flat[f.name] = value
    return flat


def to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dicts (JSON/TOML-ready)."""
    return dataclasses.asdict(config)


def from_dict(cls: type[T], data: Any, *, where: str = "config") -> T:
    """Rebuild ``cls`` from :func:`to_dict`'s output; a missing key keeps ``cls()``'s value
    (so a TOML file, which has no null, may leave out what stays at its default)."""
    return _merge(cls(), data, where)


def _merge(config: T, data: Any, where: str) -> T:
    if not isinstance(data, dict):
        raise UserError(f"{where} must be a table of settings, got {data!r}")
    names = [f.name for f in dataclasses.fields(config)]  # type: ignore[arg-type]
    values = {}
    for key, value in data.items():
        if key not in names:
            raise unknown(f"{where} key", str(key), names)
        current = getattr(config, key)
        nested = dataclasses.is_dataclass(current) and not isinstance(current, type)
        values[key] = _merge(current, value, f"{where}.{key}") if nested else value
    return dataclasses.replace(config, **values)  # type: ignore[type-var]


def flag_name(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def add_flags(
    parser: argparse.ArgumentParser,
    defaults: Any,
    *,
    titles: dict[str, str] | None = None,
    skip: tuple[str, ...] = (),
    helps: dict[str, str] | None = None,
    flags: dict[str, str] | None = None,
) -> None:
    """Declare a flag for every option of ``defaults`` (one argument group per dataclass).

    ``titles`` names the groups (by class name); ``skip`` leaves options out (by flat name);
    ``helps`` replaces the help of some (e.g. where a command computes the default itself);
    ``flags`` renames some flags (by flat name; the parsed value keeps the field's name).
    """
    groups: dict[int, argparse._ArgumentGroup] = {}
    for owner, f in _walk(defaults):
        if f.name in skip:
            continue
        if id(owner) not in groups:
            name = type(owner).__name__
            groups[id(owner)] = parser.add_argument_group((titles or {}).get(name, name))
        group, default = groups[id(owner)], getattr(owner, f.name)
        help_text = (helps or {}).get(f.name, f.metadata["help"])
        flag = (flags or {}).get(f.name, flag_name(f))
        if f.type in ("bool", bool) and f.metadata.get("type") is None:
            group.add_argument(flag, dest=f.name, action="store_true", help=help_text)
            continue
        shown = "" if default is None else " (default: %(default)s)"
        reading = {"type": f.metadata["type"]} if f.metadata.get("type") else {}
        if not f.metadata.get("choices"):  # --layers N shows as LAYERS, not as its field name
            reading["metavar"] = flag.lstrip("-").replace("-", "_").upper()
        group.add_argument(
            flag,
            dest=f.name,
            choices=f.metadata.get("choices"),
            default=default,
            help=help_text.replace("%", "%%") + shown,
            **reading,
        )


def unset(config: T) -> T:
    """``config`` with every option None: flags declared from it tell given from not given
    (for commands whose defaults depend on what else is chosen)."""
    return override(config, {name: None for name in option_names(config)})


def given(defaults: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``defaults`` that the parsed ``args`` set (not None), by flat name."""
    values = {name: getattr(args, name, None) for name in option_names(defaults)}
    return {name: value for name, value in values.items() if value is not None}


def from_args(defaults: T, args: argparse.Namespace) -> T:
    """``defaults`` with every option the parsed ``args`` hold."""
    given = {name: getattr(args, name) for name in option_names(defaults) if hasattr(args, name)}
    return override(defaults, given)


def configure(defaults: T, options: dict[str, Any], *, what: str, **parts: Any) -> T:
    """An estimator's config: ``defaults`` with whole nested parts replaced (``train=...``;
    None keeps the default) and then flat ``options`` set by name."""
    given = {name: value for name, value in parts.items() if value is not None}
    return override(dataclasses.replace(defaults, **given), options, what=what)  # type: ignore[type-var]
