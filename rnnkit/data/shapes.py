"""The recipe of the generated ``shapes`` classification set (bundled as shapes.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd

SHAPES_CLASSES = ("sine", "square", "sawtooth", "random_walk")


def make_shapes(
    n: int = 800,
    *,
    seed: int = 2024,
    min_len: int = 30,
    max_len: int = 120,
    noise: float = 0.3,
) -> pd.DataFrame:
    """The ``shapes`` classification set: ``n`` noisy sequences of four kinds, in wide form.

    Recipe (one ``numpy.random.default_rng(seed)`` stream, drawn in this order):

    1. labels: ``n // 4`` of each class (any remainder from the first classes), shuffled by
       ``rng.permutation``;
    2. for each sequence in turn: length ``L ~ U{min_len..max_len}``, amplitude
       ``a ~ U(0.5, 1.5)``, period ``p ~ U(8, 24)``, phase ``f ~ U(0, 1)``, offset
       ``c ~ U(-1, 1)``, drift ``d ~ U(0.02, 0.08)`` with a random sign, then ``L`` noise values
       ``e ~ N(0, noise)`` and ``L`` walk steps ``w ~ N(0, 0.3 a)``; with ``u = t / p + f`` for
       ``t = 0..L-1``:

       * sine: ``c + a sin(2 pi u) + e``
       * square: ``c + a sign(sin(2 pi u)) + e`` (``sign(0)`` taken as 1)
       * sawtooth: ``c + a (2 frac(u) - 1) + e``
       * random_walk: ``c + cumsum(d + w) + e``

    3. values rounded to 2 decimals; columns ``label, t0..t{max_len-1}``, NaN after the end.

    Length, amplitude and offset are drawn the same way for every class, so only the shape
    tells the classes apart.
    """
    if n < 1 or not 1 <= min_len <= max_len:
        raise ValueError("need n >= 1 and 1 <= min_len <= max_len")
    rng = np.random.default_rng(seed)
    k = len(SHAPES_CLASSES)
    base = np.concatenate([np.repeat(np.arange(k), n // k), np.arange(n % k)])
    labels = rng.permutation(base)
    data = np.full((n, max_len), np.nan)
    for i, label in enumerate(labels):
        length = int(rng.integers(min_len, max_len + 1))
        amp = rng.uniform(0.5, 1.5)
        period = rng.uniform(8.0, 24.0)
        phase = rng.uniform(0.0, 1.0)
        offset = rng.uniform(-1.0, 1.0)
        drift = rng.uniform(0.02, 0.08) * (1.0 if rng.uniform() < 0.5 else -1.0)
        eps = rng.normal(0.0, noise, length)
        steps = rng.normal(0.0, 0.3 * amp, length)
        u = np.arange(length) / period + phase
        kind = SHAPES_CLASSES[int(label)]
        if kind == "sine":
            shape = amp * np.sin(2 * np.pi * u)
        elif kind == "square":
            shape = amp * np.where(np.sin(2 * np.pi * u) >= 0, 1.0, -1.0)
        elif kind == "sawtooth":
            shape = amp * (2.0 * (u - np.floor(u)) - 1.0)
        else:
            shape = np.cumsum(drift + steps)
        data[i, :length] = np.round(offset + shape + eps, 2) + 0.0  # no "-0.00"
    frame = pd.DataFrame(data, columns=[f"t{j}" for j in range(max_len)])
    frame.insert(0, "label", [SHAPES_CLASSES[int(c)] for c in labels])
    return frame


def shapes_csv_text(frame: pd.DataFrame) -> str:
    """The CSV text of a wide frame as shipped: 2 decimals, empty cells for padding, LF ends."""
    text: str = frame.to_csv(index=False, float_format="%.2f", na_rep="", lineterminator="\n")
    return text
