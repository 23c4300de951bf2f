"""Options asked for are kept whatever their value; the rest take the model's; the horizon."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from rnnkit import Forecaster
from rnnkit.cli.forecast_flags import add_all_model_flags, forecaster_config
from rnnkit.forecasting import patch_callbacks
from rnnkit.forecasting.config import ForecasterConfig
from tests.test_patch import seasonal


def parsed(*flags: str) -> ForecasterConfig:
    parser = argparse.ArgumentParser()
    add_all_model_flags(parser)
    return forecaster_config(parser.parse_args(list(flags)))


def test_unasked_options_are_none_and_take_the_models_values() -> None:
    config = ForecasterConfig()
    assert (config.train.lr, config.train.batch_size, config.train.patience) == (None,) * 3
    patch = config.trained()
    assert (patch.lr, patch.patience, patch.batch_size) == (2e-3, 6, None)
    classic = ForecasterConfig.from_options({"model": "classic"}).trained()
    assert (classic.lr, classic.batch_size, classic.patience) == (3e-3, 32, 0)
    assert ForecasterConfig.from_options({"model": "classic"}).train_config(64).batch_size == 32


def test_the_classic_defaults_asked_for_are_kept_by_the_patch_model() -> None:
    for config in (
        ForecasterConfig.from_options({"lr": 3e-3, "batch_size": 32, "patience": 0}),
        parsed("--lr", "3e-3", "--batch-size", "32", "--patience", "0"),
    ):
        train = config.trained()
        assert (train.lr, train.batch_size, train.patience) == (3e-3, 32, 0)
    assert parsed().train.lr is None and parsed().trained().lr == 2e-3


def test_fit_trains_with_what_was_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    real = patch_callbacks.fit

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[3])
        return real(*args, **kwargs)

    monkeypatch.setattr(patch_callbacks, "fit", spy)
    Forecaster(lr=3e-3, batch_size=32, epochs=1).fit(seasonal(), target="y", time_col="date")
    Forecaster(epochs=1).fit(seasonal(), target="y", time_col="date")
    asked, asked_proxy, default, _ = seen  # each fit, then its calibration proxy
    assert (asked.lr, asked.batch_size, asked.patience) == (3e-3, 32, 6)
    assert (asked_proxy.lr, asked_proxy.patience) == (asked.lr, asked.patience)
    assert default.lr == 2e-3 and default.batch_size != 32


def test_help_states_both_models_defaults(cli) -> None:  # type: ignore[no-untyped-def]
    out = " ".join(cli("train", "--help").out.split())
    assert "(default: classic 3e-3, patch 2e-3)" in out
    assert "classic 32, patch from the data's size" in out


def test_a_whole_test_size_is_the_patch_models_horizon_in_python_as_in_the_cli() -> None:
    model = Forecaster(epochs=1).fit(seasonal(), target="y", time_col="date", test_size=7)
    assert model.shape is not None and model.shape.horizon == 7
    given = Forecaster(epochs=1, horizon=5).fit(
        seasonal(), target="y", time_col="date", test_size=7
    )
    assert given.shape is not None and given.shape.horizon == 5
    share = Forecaster(epochs=1).fit(seasonal(), target="y", time_col="date", test_size=0.1)
    assert share.shape is not None and share.shape.horizon == 18  # monthly default
