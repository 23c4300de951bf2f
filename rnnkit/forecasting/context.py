"""The starting point of forecasts: each series' last ``window`` raw rows and its scaling.

A :class:`Context` lives on the model's device, so a ``predict`` call moves nothing there; it
is rebuilt only when new data is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rnnkit.data.io import SeriesData
from rnnkit.data.scaling import SeriesScaler
from rnnkit.errors import UserError, closest
from rnnkit.forecasting.frames import context_rows, last_times
from rnnkit.forecasting.recipe import patch_scaler


@dataclass
class Context:
    """Per series: raw context window, scaling statistics, id and last timestamp."""

    raw: Tensor  # (series, window, F) raw values, on the model's device
    loc: Tensor  # (series, F)
    scale: Tensor  # (series, F)
    ids: list[str]
    lasts: list[Any]  # last timestamp (or step number) of each series
    known: Tensor | None = None  # (series, window, C) raw known-future inputs (patch model)
    static: Tensor | None = None  # (series, S) raw static covariates (category indices)

    def rows(self, ids: list[str] | None) -> list[int]:
        """Positions of the named series (all when ``ids`` is None)."""
        if ids is None:
            return list(range(len(self.ids)))
        where = {name: i for i, name in enumerate(self.ids)}
        missing = [str(i) for i in ids if str(i) not in where]
        if missing:
            raise UserError(
                f"unknown series id '{missing[0]}'{closest(missing[0], where)}; "
                f"{len(where)} series are known"
            )
        return [where[str(i)] for i in ids]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: raw windows, scaling and last timestamps (float32 survives JSON exactly)."""
        lasts = [t.isoformat() if isinstance(t, pd.Timestamp) else int(t) for t in self.lasts]
        names = ("raw", "loc", "scale", "known", "static")
        tensors = {k: t.cpu().tolist() for k in names if (t := getattr(self, k)) is not None}
        return {"ids": self.ids, "lasts": lasts, **tensors}

    @classmethod
    def from_dict(cls, data: dict[str, Any], device: torch.device, dated: bool) -> Context:
        """Rebuild from :meth:`to_dict`; anything inconsistent is a UserError."""
        try:
            raw, loc, scale = (
                torch.tensor(data[k], dtype=torch.float32, device=device)
                for k in ("raw", "loc", "scale")
            )
            lasts = [pd.Timestamp(t) if dated else int(t) for t in data["lasts"]]
            ids = [str(i) for i in data["ids"]]
            known, static = (
                torch.tensor(data[k], dtype=torch.float32, device=device) if k in data else None
                for k in ("known", "static")
            )
        except (KeyError, TypeError, ValueError) as err:
            raise UserError(f"the saved forecast context is malformed ({err})") from None
        n = len(ids)
        for extra in (known, static):
            if extra is not None and (extra.ndim < 2 or extra.shape[0] != n):
                raise UserError("the saved forecast context is malformed (covariate shapes)")
        if raw.ndim != 3 or loc.shape != (n, raw.shape[2]) or scale.shape != loc.shape:
            raise UserError("the saved forecast context is malformed (shapes do not agree)")
        if raw.shape[0] != n or len(lasts) != n:
            raise UserError("the saved forecast context is malformed (series counts differ)")
        return cls(raw, loc, scale, ids, lasts, known, static)


def build_context(
    series: SeriesData,
    ends: np.ndarray,
    window: int,
    fitted: SeriesScaler,
    fitted_ids: list[str],
    device: torch.device,
    *,
    pad: bool = False,
    known_rows: np.ndarray | None = None,
    static: np.ndarray | None = None,
) -> Context:
    """The context at each series' cut ``ends[i]`` (rows before it), scaled for the model.

    Series the model was fitted on keep their fitted statistics; a series it has not seen gets
    statistics fitted on its own rows before the cut (never after it), with the fitted log mask.
    ``pad`` (the patch model): short histories repeat their first value, and a second column
    holds the 0/1 mask of real rows. ``known_rows`` (total_time, C) raw known-future inputs of
    every row and ``static`` (series, S) raw static covariates go into the context as they are.
    """
    rows = context_rows(series.offsets, ends, window, pad)  # (series, window)
    values = series.values[rows]  # (series, window, F)
    if pad:
        start = np.asarray(series.offsets[:-1]) + np.asarray(ends) - window
        real = (start[:, None] + np.arange(window)) >= np.asarray(series.offsets[:-1])[:, None]
        values = np.concatenate([values[..., :1], real[..., None].astype(values.dtype)], axis=-1)
    raw = torch.as_tensor(values, device=device)
    known = {name: i for i, name in enumerate(fitted_ids)}
    ids = [str(i) for i in series.ids]
    if all(name in known for name in ids):
        pick = [known[name] for name in ids]
        loc, scale = fitted.loc[pick], fitted.scale[pick]
    else:
        own = (
            patch_scaler(series.values, series.offsets, ends, fitted.log)
            if pad
            else SeriesScaler.fit(series.values, series.offsets, ends, log=fitted.log)
        )
        loc, scale = own.loc.copy(), own.scale.copy()
        for i, name in enumerate(ids):
            if name in known:
                loc[i], scale[i] = fitted.loc[known[name]], fitted.scale[known[name]]
    return Context(
        raw,
        torch.as_tensor(loc, device=device),
        torch.as_tensor(scale, device=device),
        ids,
        last_times(series, ends),
        None if known_rows is None else torch.as_tensor(known_rows[rows], device=device),
        None if static is None else torch.as_tensor(static, device=device),
    )
