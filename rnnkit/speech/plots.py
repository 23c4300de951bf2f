"""The speech figure: an utterance's log-mel spectrogram above its per-step CTC posteriors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from torch import Tensor


def plot_ctc_posteriors(
    features: Tensor,
    log_probs: Tensor,
    frame_seconds: float,
    subsample: int,
    path: str | Path,
    *,
    title: str = "",
) -> Path:
    """Spectrogram (frames, bands) on top; below, the probability of blank and of every digit
    at each recurrent step (log_probs: (steps, 11)), on the same time axis."""
    fig = Figure(figsize=(10, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1])
    spec = features.detach().cpu().numpy().T  # (bands, frames)
    duration = features.shape[0] * frame_seconds
    top.imshow(spec, origin="lower", aspect="auto", extent=(0, duration, 0, spec.shape[0]))
    top.set_ylabel("mel band")
    top.set_title(title or "log-mel spectrogram")
    probs = log_probs.detach().exp().cpu().numpy()  # (steps, classes)
    step_seconds = frame_seconds * subsample
    t = (np.arange(probs.shape[0]) + 0.5) * step_seconds
    bottom.plot(t, probs[:, 0], color="0.6", linestyle="--", label="blank")
    for digit in range(probs.shape[1] - 1):
        bottom.plot(t, probs[:, digit + 1], color=f"C{digit}", label=str(digit))
    bottom.set_ylim(-0.02, 1.02)
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("CTC posterior")
    bottom.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    fig.savefig(path, dpi=100)
    return Path(path)
