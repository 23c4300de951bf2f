"""A fitted Forecaster in ``model.json`` (:func:`describe`) and back (:func:`restore`)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from rnnkit.data.scaling import SeriesScaler
from rnnkit.errors import UserError
from rnnkit.forecasting.calibration import Calibration
from rnnkit.forecasting.config import ForecasterConfig, Shape
from rnnkit.forecasting.context import Context
from rnnkit.forecasting.fitted import Fitted
from rnnkit.forecasting.frames import Columns
from rnnkit.forecasting.module import ForecastModule, NetworkConfig
from rnnkit.forecasting.patch import PatchConfig, PatchModule
from rnnkit.models import resolve_device
from rnnkit.training.seeding import seeded

T = TypeVar("T")


def _build(cls: type[T], data: Any, what: str) -> T:
    """``cls(**data)`` with a UserError when the saved fields do not fit."""
    if not isinstance(data, dict):
        raise UserError(f"the saved {what} is missing or malformed")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError as err:
        raise UserError(f"the saved {what} is malformed ({err})") from None


def describe(fitted: Fitted, kind: str) -> dict[str, Any]:
    """``model.json``: everything but the weights that :func:`restore` needs (JSON only)."""
    return {
        "kind": kind,
        "config": fitted.config.options(),
        "network": dataclasses.asdict(fitted.module.config),
        "shape": dataclasses.asdict(fitted.shape),
        "columns": fitted.columns.to_dict(),
        "frequency": fitted.freq,
        "ids": fitted.ids,
        "scaler": fitted.scaler.to_dict(),
        "context": fitted.context.to_dict(),
        "calibration": None if fitted.calibration is None else fitted.calibration.to_dict(),
    }


def restore(cls: type[Any], meta: dict[str, Any], device: str | None) -> Any:
    """An unfitted-weights Forecaster of class ``cls`` with everything but the weights."""
    saved = meta.get("config")
    if not isinstance(saved, dict):
        raise UserError("the saved forecaster config is missing or malformed")
    config = ForecasterConfig.from_options(saved)  # flat option names, checked
    forecaster = cls(config=config)
    forecaster.device = resolve_device(device or config.device)
    saved_network = meta.get("network")
    patch = isinstance(saved_network, dict) and saved_network.get("model") == "patch"
    network: PatchConfig | NetworkConfig = (
        _build(PatchConfig, saved_network, "network config")
        if patch
        else _build(NetworkConfig, saved_network, "network config")
    )
    forecaster.shape = _build(Shape, meta.get("shape"), "window/horizon")
    forecaster.columns = _build(Columns, meta.get("columns"), "column description")
    forecaster.freq = meta.get("frequency")
    forecaster.ids = [str(i) for i in meta.get("ids", [])]
    forecaster.scaler = SeriesScaler.from_dict(meta.get("scaler") or {})
    forecaster.context = Context.from_dict(
        meta.get("context") or {}, forecaster.device, dated=forecaster.freq is not None
    )
    if len(network.log) != network.features or forecaster.context.raw.shape[2] != len(network.log):
        raise UserError("the saved model description is inconsistent (feature counts differ)")
    with seeded(config.train.seed):
        if isinstance(network, PatchConfig):
            forecaster.module = PatchModule(network).to(forecaster.device)
        else:
            forecaster.module = ForecastModule(network).to(forecaster.device)
    forecaster.calibration = Calibration.from_dict(meta.get("calibration"))
    if forecaster.calibration is not None:
        forecaster.calibration.to(forecaster.device)
    return forecaster
