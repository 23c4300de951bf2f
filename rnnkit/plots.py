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

from rnnkit.training import History


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


def plot_confusion_matrix(
    counts: Any, classes: Sequence[str], path: str | Path, *, title: str = ""
) -> Path:
    """Counts of (true class, predicted class) as a heat map, each cell labelled with its count."""
    matrix = np.asarray(counts)
    size = 1.6 + 0.9 * len(classes)
    fig = Figure(figsize=(size + 1.2, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, labels=list(classes), rotation=45, ha="right")
    ax.set_yticks(ticks, labels=list(classes))
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), value in np.ndenumerate(matrix):
        color = "white" if value > threshold else "black"
        ax.text(col, row, str(value), ha="center", va="center", color=color)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    fig.savefig(path, dpi=100)
    return Path(path)


def _forecast_panel(
    ax: Any, times: Any, history: Any, truth_times: Any, truth: Any, fc: Any
) -> None:
    """History, held-out truth, forecast and (for K = 5 columns) the 80%/95% bands."""
    forecast = np.asarray(fc)  # (steps, K): K = 1, or lo_95, lo_80, median, hi_80, hi_95
    ax.plot(times, history, color="C0", label="history")
    ax.plot(truth_times, truth, color="black", label="test truth")
    if forecast.shape[1] == 5:
        ax.fill_between(
            truth_times, forecast[:, 0], forecast[:, 4], color="C1", alpha=0.2, label="95% interval"
        )
        ax.fill_between(
            truth_times,
            forecast[:, 1],
            forecast[:, 3],
            color="C1",
            alpha=0.35,
            label="80% interval",
        )
    ax.plot(
        truth_times,
        forecast[:, forecast.shape[1] // 2],
        color="C1",
        linestyle="--",
        label="forecast",
    )


def plot_forecast(holdout: Any, path: str | Path, *, title: str = "", max_panels: int = 4) -> Path:
    """History, forecast, intervals and test truth: one panel per series (the first few).

    ``holdout`` is a :class:`rnnkit.forecasting.fitted.Holdout`.
    """
    n = min(len(holdout.ids), max_panels)
    fig, axes = _grid(n, width=7.0, height=3.6)
    for i, ax in enumerate(axes):
        _forecast_panel(
            ax,
            holdout.history_times[i],
            holdout.histories[i],
            holdout.truth_times[i],
            holdout.truths[i],
            holdout.forecasts[i],
        )
        ax.set_title(holdout.ids[i] if n > 1 else title or "forecast")
        ax.legend(loc="upper left", fontsize="small")
    if title and n > 1:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    return Path(path)


def plot_backtest(result: Any, path: str | Path, *, title: str = "") -> Path:
    """The first series with every fold's forecast (and intervals) over its test window.

    ``result`` is a :class:`rnnkit.forecasting.backtest.Backtest`.
    """
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(result.history_times, result.history, color="black", label="series")
    for k, fold in enumerate(result.folds):
        held = fold.holdout
        forecast = np.asarray(held.forecasts[0])  # (steps, K)
        color = f"C{(k + 1) % 10}"
        if forecast.shape[1] == 5:
            ax.fill_between(
                held.truth_times[0], forecast[:, 0], forecast[:, 4], color=color, alpha=0.2
            )
        ax.plot(
            held.truth_times[0],
            forecast[:, forecast.shape[1] // 2],
            color=color,
            linestyle="--",
            label=f"fold {k + 1}",
        )
        ax.axvline(fold.cutoff, color=color, linewidth=0.8, alpha=0.6)
    ax.set_title(title or "backtest")
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=100)
    return Path(path)


def plot_compare_curves(
    curves: Mapping[str, Sequence[History]],
    path: str | Path,
    *,
    baseline: float | None = None,
    title: str = "",
) -> Path:
    """Validation loss per epoch (training loss for runs without validation), one colour per
    cell and one line per seed, log scale.

    ``baseline`` (the trivial predictor's validation loss) is drawn as a horizontal line.
    """
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    validated = True
    for i, (name, histories) in enumerate(curves.items()):
        for k, history in enumerate(histories):
            epochs = [r.epoch for r in history.records]
            validated = validated and all(r.val_loss is not None for r in history.records)
            loss = [r.train_loss if r.val_loss is None else r.val_loss for r in history.records]
            label = name if k == 0 else None
            ax.plot(epochs, loss, color=f"C{i % 10}", alpha=0.8, linewidth=1.2, label=label)
    if baseline is not None:
        ax.axhline(baseline, color="black", linestyle=":", label="trivial baseline")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss" if validated else "loss (training where no validation)")
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=100)
    return Path(path)


def plot_gradient_norms(
    panels: Mapping[str, Mapping[str, Sequence[float]]], path: str | Path, *, title: str = ""
) -> Path:
    """||dL/dh_t|| against t, log scale: one panel per stage (e.g. "at initialisation"), one
    line per cell."""
    fig, axes = _grid(len(panels), width=5.5, height=3.6)
    for ax, (stage, norms) in zip(axes, panels.items(), strict=True):
        for i, (cell, values) in enumerate(norms.items()):
            ax.plot(np.arange(len(values)), values, color=f"C{i % 10}", label=cell)
        ax.set_yscale("log")
        ax.set_xlabel("time step t")
        ax.set_ylabel("||dL/dh_t||")
        ax.set_title(stage, fontsize="medium")
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    return Path(path)


def plot_m4_examples(
    train: Any, test: Any, forecasts: Any, ids: Sequence[str], path: str | Path, horizon: int
) -> Path:
    """One panel per series id: the last 4 horizons of history, the test truth, the forecast
    and its 95% band when present (long frames: train ``id,t,y``, test ``id,h,y``,
    forecasts ``id,h,yhat[,lo_95,hi_95]``)."""
    fig, axes = _grid(len(ids), width=6.0)
    for ax, sid in zip(axes, ids, strict=False):
        history = train.loc[train["id"] == sid, "y"].to_numpy()[-4 * horizon :]
        truth = test.loc[test["id"] == sid, "y"].to_numpy()
        rows = forecasts.loc[forecasts["id"] == sid]
        bounds = ["lo_95", "yhat", "hi_95"] if "lo_95" in rows else ["yhat"]
        fc = rows[bounds].to_numpy()
        if fc.shape[1] == 3:  # widen to the (lo_95, lo_80, median, hi_80, hi_95) layout
            fc = np.column_stack([fc[:, 0], fc[:, 1], fc[:, 1], fc[:, 1], fc[:, 2]])
        steps = np.arange(len(history), len(history) + len(truth))
        _forecast_panel(ax, np.arange(len(history)), history, steps, truth, fc)
        ax.set_title(str(sid))
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=100)
    return Path(path)
