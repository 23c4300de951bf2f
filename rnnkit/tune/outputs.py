"""What a search writes: ``trials.csv`` (after every trial), ``best.toml`` and ``summary.json``.

``best.toml`` is a ``--config`` file for ``rnnkit train``: the data flags, the test size, the
options the user fixed and those the search chose; TOML has no null, so an option left to its
default (None) is left out, and lists are written as the comma-separated text their flags take.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rnnkit.config import flag_name
from rnnkit.forecasting.runner import DataSpec
from rnnkit.runs import atomic_write, environment, write_json
from rnnkit.tune.settings import METRICS, TuneSettings

PARAMS = (
    "model",
    "cell",
    "hidden_size",
    "num_layers",
    "dropout",
    "lr",
    "window_factor",
    "window",
    "window_norm",
)  # the trial columns of trials.csv (empty where the option was fixed or does not apply)


def trials_table(trials: Sequence[Any], metric: str, confirmed: Sequence[Any] = ()) -> pd.DataFrame:
    """One row per finished trial: its state, scores, length, options and how it ended (and,
    for the candidates of the confirmation, the mean score over its seeds)."""
    means = {c.trial: (c.mean if c.complete else None) for c in confirmed}
    rows = []
    for trial in trials:
        if not trial.state.is_finished():
            continue
        attrs = trial.user_attrs
        scores = attrs.get("scores", {})
        row: dict[str, Any] = {
            "trial": trial.number,
            "state": trial.state.name.lower(),
            "value": trial.value if trial.state.name == "COMPLETE" else None,
            "confirmed": means.get(trial.number),
        }
        row.update({f"val_{name}": scores.get(name) for name in METRICS})
        row["epochs"] = attrs.get("epochs")
        row["seconds"] = round(float(attrs.get("seconds", 0.0)), 3)
        values = {**trial.params, **attrs.get("options", {})}
        row.update({name: values.get(name) for name in PARAMS})
        row["note"] = attrs.get("note", "")
        rows.append(row)
    table = pd.DataFrame(rows, columns=_columns())
    return table.rename(columns={"value": f"value_{metric}", "confirmed": f"seeds_{metric}"})


def _columns() -> list[str]:
    scores = [f"val_{name}" for name in METRICS]
    return ["trial", "state", "value", "confirmed", *scores, "epochs", "seconds", *PARAMS, "note"]


def write_trials(
    trials: Sequence[Any], path: Path, metric: str, confirmed: Sequence[Any] = ()
) -> None:
    """``trials.csv``, replaced atomically (a search stopped half-way keeps its trials)."""
    table = trials_table(trials, metric, confirmed)
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))


def toml_value(value: Any) -> str:
    """A TOML literal for a flag's value (lists: the comma-separated text the flag reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else json.dumps(str(value))
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are TOML's


def best_toml(
    spec: DataSpec, test_size: int | float, options: dict[str, Any], comments: Sequence[str]
) -> str:
    """The text of ``best.toml``: keys are flag names (``hidden-size``), as ``--config``
    reads them."""
    lines = [f"# {line}" for line in comments]
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if value is not None and value != []:
            lines.append(f"{flag_name(f).lstrip('-')} = {toml_value(value)}")
    lines.append(f"test-size = {toml_value(test_size)}")
    for name, value in options.items():
        if value is None or value is False:  # TOML has no null; False: the flag's default
            continue
        lines.append(f"{name.replace('_', '-')} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def write_best(path: Path, text: str) -> None:
    def write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    atomic_write(path, write)


def summary(
    spec: DataSpec,
    settings: TuneSettings,
    test_size: int | float,
    fixed: dict[str, Any],
    outcome: Any,
) -> dict[str, Any]:
    """``summary.json``: what was searched, what was found, the test scores."""
    states = [t.state.name.lower() for t in outcome.trials if t.state.is_finished()]
    first = outcome.trials[0]
    return {
        "kind": "forecast-tune",
        "data": dataclasses.asdict(spec),
        "test_size": test_size,
        "settings": dataclasses.asdict(settings),
        "fixed": fixed,
        "search": {
            "trials": len(states),
            "complete": states.count("complete"),
            "pruned": states.count("pruned"),
            "failed": states.count("fail"),
            "seconds": outcome.seconds,
            "search_best_trial": outcome.search_best.number,
            "search_best_value": outcome.search_best.value,
            "best_trial": outcome.best.number,  # the chosen one (best.toml)
            "best_value": outcome.best.value,
            "defaults_value": first.value if first.state.name == "COMPLETE" else None,
            "best_options": outcome.options,
        },
        "confirmation": [
            {"trial": c.trial, "values": c.values, "mean": c.mean if c.complete else None}
            for c in outcome.confirmed
        ],
        "test": outcome.test or None,
        "versions": environment(),
    }


def write_summary(path: Path, data: dict[str, Any]) -> None:
    write_json(path, data)
