"""``trials.png``: every trial's validation score, the best so far, and where pruning struck."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure


def plot_trials(
    trials: Sequence[Any], path: Path, *, metric: str, title: str = "", chosen: Any = None
) -> Path:
    """Complete trials as dots (the first, the defaults, circled; the ``chosen`` one starred),
    the best so far as a step line, pruned and failed trials as ticks under the axis."""
    fig = Figure(figsize=(7.5, 4.0), layout="constrained")
    ax = fig.subplots()
    done = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    x = np.array([t.number for t in done])
    y = np.array([t.value for t in done], dtype=np.float64)
    ax.scatter(x, y, s=16, color="tab:blue", label="trial")
    if len(done):
        order = np.argsort(x)
        ax.step(
            x[order],
            np.minimum.accumulate(y[order]),
            where="post",
            color="tab:red",
            label="best so far",
        )
    first = [t for t in done if t.number == 0]
    if first:
        ax.scatter(
            [0],
            [first[0].value],
            s=90,
            facecolors="none",
            edgecolors="black",
            label="defaults (trial 0)",
        )
    if chosen is not None and chosen.value is not None:
        ax.scatter(
            [chosen.number],
            [chosen.value],
            s=140,
            marker="*",
            color="gold",
            edgecolors="black",
            zorder=3,
            label=f"chosen (trial {chosen.number})",
        )
    for state, marker, color in (("PRUNED", "|", "tab:gray"), ("FAIL", "x", "tab:orange")):
        numbers = [t.number for t in trials if t.state.name == state]
        if numbers:
            ax.plot(
                numbers,
                np.zeros(len(numbers)),
                marker,
                color=color,
                markersize=9,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                label=f"{state.lower()} ({len(numbers)})",
            )
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric}")
    if len(y) and np.all(y > 0) and y.max() / y.min() > 20:
        ax.set_yscale("log")
    ax.set_title(title or f"{len(trials)} trials")
    ax.legend(loc="upper right", fontsize="small")
    fig.savefig(path, dpi=110)
    return path
