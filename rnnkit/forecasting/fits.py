"""Which function fits each ``--model`` (``ForecastSettings.model``): one table, so the
Forecaster dispatches by name and a new model is one entry here."""

from __future__ import annotations

from typing import Any

from rnnkit.forecasting.esrnn_training import fit_esrnn
from rnnkit.forecasting.patch_training import fit_patch
from rnnkit.forecasting.training import fit_classic

# each: (series, lengths, config, device, *inputs, **checkpointing)
#   -> (module, shape, scaler, history, calibration or None)
FITS: dict[str, Any] = {
    "patch": fit_patch,
    "classic": fit_classic,
    "esrnn": fit_esrnn,
    "patch+esrnn": fit_esrnn,  # the partner patch network is set from the model's name
}
