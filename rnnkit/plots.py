"""Every figure rnnkit draws, as PNG files.

Figures are built with matplotlib's object API (``Figure``), never pyplot, so nothing depends on
a display or on global state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from rnnkit.train import History


def _grid(n: int, width: float = 5.0, height: float = 3.2) -> tuple[Figure, list]:
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def plot_predictions(
    panels: Sequence[tuple[str, Any, Any]], path: str | Path, *, title: str = ""
) -> Path:
    """One panel per model: real vs predicted, as in the tutorial's figure."""
    fig, axes = _grid(len(panels))
    for ax, (name, real, predicted) in zip(axes, panels, strict=True):
        ax.plot(np.asarray(real).ravel(), label="Real Data")
        ax.plot(np.asarray(predicted).ravel(), label="Predicted Data", linestyle="--")
        ax.set_title(name)
        ax.set_xlabel("test step")
        ax.legend(loc="upper right", fontsize="small")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    return Path(path)


def plot_learning_curves(histories: Mapping[str, History], path: str | Path) -> Path:
    """Training (solid) and validation (dashed) loss per epoch, log scale, one colour per run."""
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (name, history) in enumerate(histories.items()):
        epochs = [r.epoch for r in history.records]
        color = f"C{i % 10}"
        ax.plot(epochs, [r.train_loss for r in history.records], color=color, label=f"{name} train")
        val = [np.nan if r.val_loss is None else r.val_loss for r in history.records]
        if not np.all(np.isnan(val)):
            ax.plot(epochs, val, color=color, linestyle="--", label=f"{name} validation")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=100)
    return Path(path)
