"""The attention heatmap: which source words each output word looked at."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from rnnkit.translate.translator import Translation


def plot_attention(samples: Sequence[Translation], path: str | Path, *, cols: int = 2) -> Path:
    """One heatmap per translation: output words (rows) by source words (columns)."""
    samples = [s for s in samples if s.attention is not None and s.source]
    if not samples:
        raise ValueError("no translation with attention weights to plot")
    cols = min(cols, len(samples))
    rows = math.ceil(len(samples) / cols)
    fig = Figure(figsize=(4.8 * cols, 4.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[len(samples) :]:
        ax.set_visible(False)
    image = None
    for ax, sample in zip(axes, samples, strict=False):
        assert sample.attention is not None
        weights = sample.attention.detach().cpu().numpy()  # (outputs incl. <eos>, sources)
        outputs = list(sample.tokens) + ["<eos>"]
        weights = weights[: len(outputs)]
        image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(sample.source)), sample.source, rotation=60, ha="right")
        ax.set_yticks(range(len(weights)), outputs[: len(weights)])
        ax.set_xlabel("source")
        ax.set_ylabel("translation")
    if image is not None:
        fig.colorbar(image, ax=axes[: len(samples)], shrink=0.6, label="attention weight")
    fig.savefig(path, dpi=100)
    return Path(path)
