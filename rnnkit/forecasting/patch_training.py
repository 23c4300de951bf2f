"""Training the patch model through :func:`rnnkit.training.fit`.

An "epoch" is one evaluation period: ``every`` batches, each sampling series uniformly and
then an origin uniformly in the second half of that series' usable history. Validation is the
last ``horizon`` points of every training history (1 origin per series with >= 32 series,
``horizon / 4`` origins with fewer); training targets end before it. :class:`Plateau` halves
the learning rate after 3 epochs without improvement (``fit`` stops after ``patience``), and
:class:`TopCheckpoints` keeps the 5 best-validating weights, averaged at forecast time.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from rnnkit.data.io import SeriesData
from rnnkit.data.scaling import SeriesScaler
from rnnkit.errors import UserError
from rnnkit.forecasting.calibration import Calibration
from rnnkit.forecasting.calibration_data import patch_calibration, proxy_calibration
from rnnkit.forecasting.config import ForecasterConfig, Shape
from rnnkit.forecasting.covariates import (
    CovariateData,
    CovariateSpec,
    known_raw,
    scaled,
    static_raw,
)
from rnnkit.forecasting.module import pinball_score
from rnnkit.forecasting.patch import PatchConfig, PatchModule, PatchNetwork, gaussian_score
from rnnkit.forecasting.patch_callbacks import fit_ensemble
from rnnkit.forecasting.recipe import (
    BATCH,
    budget,
    input_length,
    patch_scaler,
    seasons_and_patch,
    usable_seasons,
)
from rnnkit.training import History, TrainConfig
from rnnkit.training.seeding import seeded


class Packed:
    """Every series' normalised training values, concatenated, with gathering of windows;
    ``known`` (rows, C) and ``static`` (series, S) hold the scaled covariates (C, S may be 0)."""

    def __init__(
        self,
        z: np.ndarray,
        offsets: np.ndarray,
        lengths: np.ndarray,
        known: np.ndarray | None = None,
        static: np.ndarray | None = None,
    ) -> None:
        self.z, self.offsets, self.lengths = z, offsets[:-1].astype(np.int64), lengths
        self.known = np.zeros((len(z), 0), np.float32) if known is None else known
        self.static = np.zeros((len(lengths), 0), np.float32) if static is None else static

    def gather(
        self, series: np.ndarray, origins: np.ndarray, window: int, horizon: int, patch: int
    ):
        """x, mask (B, window), y (B, horizon) level-subtracted, known (B, window + horizon, C)
        and static (B, S); pads repeat the first row."""
        pos = origins[:, None] - window + np.arange(window)[None, :]
        mask = (pos >= 0).astype(np.float32)
        rows = self.offsets[series][:, None] + np.maximum(pos, 0)
        x = self.z[rows]
        level = x[:, -patch:].mean(1, keepdims=True)
        ahead = self.offsets[series][:, None] + origins[:, None] + np.arange(horizon)[None, :]
        y = self.z[ahead] - level
        known = self.known[np.concatenate([rows, ahead], axis=1)]
        arrays = (x - level, mask, y, known, self.static[series])
        return tuple(torch.from_numpy(np.ascontiguousarray(a, np.float32)) for a in arrays)


class SampledWindows(Dataset):
    """``len`` = one evaluation period of examples; ``data[positions]`` draws that many fresh
    random windows from a private generator (seeded), whatever the positions are."""

    def __init__(
        self, packed: Packed, lows: np.ndarray, highs: np.ndarray, size: int, shape: Any, seed: int
    ) -> None:
        self.packed, self.lows, self.highs, self.size, self.shape = packed, lows, highs, size, shape
        self.trainable = np.flatnonzero(highs >= lows)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def state_dict(self) -> dict[str, str]:
        """The generator's state (JSON), checkpointed so that a resume draws the same windows."""
        return {"rng": json.dumps(self.rng.bit_generator.state)}

    def load_state_dict(self, state: dict[str, str]) -> None:
        self.rng.bit_generator.state = json.loads(state["rng"])

    def __getitem__(self, positions: Tensor) -> tuple[Tensor, ...]:
        n = len(positions)
        series = self.trainable[self.rng.integers(0, len(self.trainable), n)]
        span = self.highs[series] - self.lows[series] + 1
        origins = self.lows[series] + (self.rng.random(n) * span).astype(np.int64)
        return self.packed.gather(series, origins, *self.shape)

    def iter_batches(
        self, batch_size: int, *, shuffle: bool = False, generator: Any = None
    ) -> Iterator[tuple[Tensor, ...]]:
        """Batches of fresh random windows (the BatchSource protocol)."""
        for start in range(0, self.size, batch_size):
            yield self[torch.arange(start, min(start + batch_size, self.size))]


class FixedWindows:
    """The validation windows (a batch source for ``evaluate``)."""

    def __init__(self, tensors: tuple[Tensor, ...]) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def iter_batches(
        self, batch_size: int, *, shuffle: bool = False, generator: Any = None
    ) -> Iterator[tuple[Tensor, ...]]:
        for start in range(0, len(self), batch_size):
            yield tuple(t[start : start + batch_size] for t in self.tensors)


def l1_loss(network: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    """Mean absolute error in the normalised space."""
    x, mask, y, *covariates = batch
    return (network(x, mask, *covariates) - y).abs().mean()


def pinball_loss(network: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    """Pinball loss of every quantile level (the median's is half the L1 loss)."""
    x, mask, y, *covariates = batch
    return pinball_score(network(x, mask, *covariates), y)  # (B, H, Q) against (B, H)


def gaussian_loss(network: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    """Gaussian negative log-likelihood (constant dropped), like the classic head's."""
    x, mask, y, *covariates = batch
    return gaussian_score(network(x, mask, *covariates), y)  # (B, H, 2) against (B, H)


LOSSES = {None: l1_loss, "gaussian": gaussian_loss, "quantile": pinball_loss}


@dataclass(frozen=True)
class Layout:
    """Seasons, sizes and training origins of a patch model fit, from the data and options."""

    seasons: tuple[int, ...]
    usable: tuple[int, ...]
    patch: int
    horizon: int
    window: int
    k: int  # validation origins per series
    lows: np.ndarray  # (series,) first training origin
    highs: np.ndarray  # (series,) last training origin (targets end before validation)


def layout(
    series: SeriesData, lengths: np.ndarray, config: ForecasterConfig, future: int = 0
) -> Layout:
    """The fit's layout; a UserError when the data cannot train the patch model. ``future``:
    how many of the series' last columns are known-future covariates (the rest past ones)."""
    settings = config.forecast
    if series.values.shape[1] - future > 1:
        raise UserError(
            "the patch model reads no covariates; drop --covariates or use --model classic"
        )
    seasons, patch, default_horizon = seasons_and_patch(series.freq, settings.season)
    horizon = settings.horizon or default_horizon
    usable = usable_seasons(seasons, horizon, int(np.median(lengths)))
    window = settings.window or input_length(usable, horizon, patch)
    window = -(-window // patch) * patch
    k = 1 if len(lengths) >= 32 else max(1, horizon // 4)
    highs = lengths - 2 * horizon - (k - 1)
    lows = np.minimum(window, np.maximum(max(horizon, patch), highs // 2))
    if not (highs >= lows).any():
        raise UserError(
            f"no series is long enough to train the patch model: the longest has "
            f"{int(np.max(lengths))} training points, it needs about 2 x horizon {horizon} + "
            f"{max(horizon, patch)} (window {window} is padded); use a shorter --horizon, a "
            "longer series or --model classic"
        )
    return Layout(seasons, usable, patch, horizon, window, k, lows, highs)


def packed_series(
    series: SeriesData,
    lengths: np.ndarray,
    scaler: SeriesScaler,
    covariates: CovariateData,
    fit_lengths: np.ndarray | None = None,
) -> tuple[Packed, CovariateSpec]:
    """Every series' values in the normalised space of ``scaler``, with the covariates scaled
    on the first ``fit_lengths[i]`` (default ``lengths[i]``) rows of each series."""
    owner = np.repeat(np.arange(len(lengths)), np.diff(series.offsets))
    g = np.log(np.maximum(series.values[:, 0], 1e-6)) if scaler.log[0] else series.values[:, 0]
    spec = covariates.fit(series, lengths if fit_lengths is None else fit_lengths)
    known = scaled(known_raw(series, spec), spec.known_loc, spec.known_scale)
    static = static_raw(covariates.static, spec, len(lengths))
    static = scaled(static, spec.static_loc, spec.static_scale)
    z = (g / scaler.scale[owner, 0]).astype(np.float32)
    return Packed(z, series.offsets, lengths, known, static), spec


def budgeted(
    config: ForecasterConfig, lows: np.ndarray, highs: np.ndarray
) -> tuple[TrainConfig, int]:
    """The fit's TrainConfig from the budget (:func:`.recipe.budget`) for the training origins
    ``lows..highs`` of each series, and the windows drawn between two evaluations (an "epoch").
    ``--batch-size`` caps the batch (small data), ``--epochs`` the evaluations."""
    asked = config.train.batch_size or BATCH
    plan = budget(int((highs - lows + 1)[highs >= lows].sum()), asked)
    train_config = dataclasses.replace(
        config.trained(),
        epochs=config.train.epochs or plan.evaluations,
        batch_size=plan.batch,
        log_every=0,
    )
    return train_config, plan.every * plan.batch


def fit_patch(
    series: SeriesData,
    lengths: np.ndarray,
    config: ForecasterConfig,
    device: torch.device,
    covariates: CovariateData | None = None,
    **checkpointing: Any,
) -> tuple[PatchModule, Shape, SeriesScaler, History, Calibration | None]:
    """Train the patch model on the first ``lengths[i]`` rows of every series (``covariates``:
    its known-future and static covariates, scaled on those rows only); calibrate its
    intervals (:mod:`.calibration_data`) unless ``calibration`` is "none"."""
    settings = config.forecast
    lengths = np.asarray(lengths, np.int64)
    covariates = covariates or CovariateData()
    lay = layout(series, lengths, config, len(covariates.future))
    usable, window, horizon, patch, k = lay.usable, lay.window, lay.horizon, lay.patch, lay.k
    highs, lows, seasons = lay.highs, lay.lows, lay.seasons
    scaler = patch_scaler(series.values, series.offsets, lengths)
    packed, spec = packed_series(series, lengths, scaler, covariates)
    n = len(lengths)
    shape = (window, horizon, patch)
    v_series = np.repeat(np.arange(n), k)
    v_origin = (lengths[:, None] - horizon - np.arange(k)[None, :]).reshape(-1)
    keep = v_origin >= 1
    val = FixedWindows(packed.gather(v_series[keep], v_origin[keep], *shape))
    train_config, per_evaluation = budgeted(config, lows, highs)
    train = SampledWindows(packed, lows, highs, per_evaluation, shape, config.train.seed)
    model = config.model
    patch_config = PatchConfig(
        cell=model.cell,
        backend=model.backend,
        hidden_size=model.hidden_size,
        num_layers=model.num_layers,
        dropout=model.dropout,
        window=window,
        horizon=horizon,
        patch=patch,
        seasons=list(usable),
        log=[bool(scaler.log[0]), False],
        likelihood=settings.likelihood,
        covariates=dataclasses.asdict(spec),
    )
    with seeded(config.train.seed):
        network = PatchNetwork(patch_config).to(device)
    loss_fn = LOSSES[settings.likelihood]
    kept, history = fit_ensemble(network, train, val, train_config, loss_fn, device, checkpointing)
    module = PatchModule(dataclasses.replace(patch_config, members=len(kept))).to(device)
    for member, weights in zip(module.members, kept, strict=True):
        member.load_state_dict(weights)
    season = settings.season or (usable[0] if usable else (seasons[0] if seasons else 1))
    calibration = None
    if settings.calibration != "none":
        proxy = (fit_patch, packed_series)  # a proxy fit, for few series
        calibration = proxy_calibration(*proxy, series, lengths, config, device, lay, covariates)
        calibration = calibration or patch_calibration(module, val.tensors, patch)
    return module, Shape(window, horizon, season), scaler, history, calibration
