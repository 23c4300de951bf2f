"""The patch model: its recipe rules, its zero-initialised base, --test-size 0, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit import Forecaster
from rnnkit.errors import UserError
from rnnkit.forecasting.patch import PatchConfig, PatchModule, PatchNetwork
from rnnkit.forecasting.recipe import (
    budget,
    frequency_key,
    input_length,
    seasons_and_patch,
    usable_seasons,
)


def test_seasons_come_from_the_frequency_or_the_season() -> None:
    assert seasons_and_patch("h", None) == ((24, 168), 24, 48)
    assert seasons_and_patch("W-SUN", None) == ((52,), 4, 13)
    assert seasons_and_patch("MS", None) == ((12,), 12, 18)
    assert seasons_and_patch("YS", None) == ((), 1, 6)
    assert seasons_and_patch("YS", 11) == ((11,), 1, 6)  # a yearly cycle: a lag, patch 1
    assert frequency_key(None, 24) == "H" and frequency_key(None, 52) == "W"
    assert frequency_key("30min", None) == "30min" and frequency_key("QS-OCT", None) == "Q"


def test_a_season_is_used_when_the_median_history_holds_two_plus_two_horizons() -> None:
    assert usable_seasons((24, 168), 48, 432) == (24, 168)
    assert usable_seasons((24, 168), 48, 431) == (24,)
    assert usable_seasons((52,), 13, 100) == ()


def test_input_length_rule() -> None:
    assert input_length((24, 168), 48, 24) == 336  # 2 x 168
    assert input_length((52,), 13, 4) == 104
    assert input_length((12,), 24, 12) == 48  # 2 x horizon
    assert input_length((), 22, 1) == 44
    assert input_length((7, 365), 14, 7) == 735  # rounded up to whole patches
    assert input_length((), 900, 1) == 1000  # capped


def test_budget_rule() -> None:
    small = budget(100)
    assert (small.batch, small.steps, small.every) == (100, 200, 20)
    large = budget(10**6)
    assert (large.batch, large.steps, large.every) == (256, 4000, 160)
    assert budget(5).batch == 16


def test_the_untrained_network_forecasts_its_seasonal_naive_base() -> None:
    config = PatchConfig(window=48, horizon=18, patch=12, seasons=[12])
    net = PatchNetwork(config)
    x, mask = torch.randn(3, 48), torch.ones(3, 48)
    expected = x[:, [36 + h % 12 for h in range(18)]]
    assert torch.equal(net(x, mask), expected)
    raw = torch.rand(2, 48, 1) + 1.0  # raw positive values, log scale, loc 0, scale 1
    raw = torch.cat([raw, torch.ones_like(raw)], dim=-1)
    module = PatchModule(PatchConfig(window=48, horizon=18, patch=12, seasons=[12], members=2))
    out = module(raw, torch.zeros(2, 2), torch.ones(2, 2), 18)[..., 0]
    torch.testing.assert_close(out, raw[:, [36 + h % 12 for h in range(18)], 0])


def seasonal(n: int = 120) -> pd.DataFrame:
    t = np.arange(n)
    rng = np.random.default_rng(0)
    y = 100 * 1.01**t * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 1, n)
    return pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n, freq="MS"), "y": y})


def test_save_and_load_give_equal_forecasts(tmp_path: Path) -> None:
    model = Forecaster(epochs=3).fit(seasonal(), target="y", time_col="date")
    before = model.predict(30)
    model.save(tmp_path / "m")
    after = Forecaster.load(tmp_path / "m").predict(30)
    pd.testing.assert_frame_equal(before, after)
    assert len(before) == 30 and np.isfinite(before["forecast"]).all()
    model.export(tmp_path / "m.pt", format="torchscript")  # the patch model exports too
    assert (tmp_path / "m.pt").is_file()


def test_options_the_patch_model_lacks_name_the_classic_model() -> None:
    with pytest.raises(UserError, match="--model classic"):
        Forecaster(strategy="recursive")
    Forecaster(model="classic", strategy="recursive")


@pytest.mark.parametrize("likelihood", ["quantile", "gaussian"])
def test_the_probabilistic_patch_model_gives_ordered_intervals(likelihood: str) -> None:
    frame = seasonal()
    model = Forecaster(likelihood=likelihood, epochs=4).fit(frame, target="y", time_col="date")
    assert model.module is not None and model.module.config.likelihood == likelihood
    out = model.predict(30)
    columns = ["lo_95", "lo_80", "forecast", "hi_80", "hi_95"]
    assert set(columns) <= set(out.columns)
    assert (np.diff(out[columns].to_numpy(), axis=1) >= 0).all()
    scores = model.evaluate(frame, test_size=24)
    assert "coverage" in scores["model"]


def test_test_size_zero_fits_on_everything_and_predicts(tmp_path: Path) -> None:
    from rnnkit.cli import main

    path = tmp_path / "s.csv"
    seasonal().to_csv(path, index=False)
    out = tmp_path / "run"
    flags = ["--target", "y", "--epochs", "2", "--no-progress", "--threads", "1"]
    assert main(["train", "--data", str(path), *flags, "--test-size", "0", "--out", str(out)]) == 0
    metrics = (out / "metrics.json").read_text()
    assert '"test": null' in metrics
    assert main(["predict", str(out), "--steps", "14", "--out", str(tmp_path / "f.csv")]) == 0
    forecast = pd.read_csv(tmp_path / "f.csv")
    assert len(forecast) == 14 and forecast.iloc[0, 0] == "2010-01-01"


def test_resuming_a_finished_run_keeps_the_checkpoint_ensemble(tmp_path: Path) -> None:
    from rnnkit.cli import main

    path, out = tmp_path / "s.csv", tmp_path / "run"
    seasonal().to_csv(path, index=False)
    flags = ["--target", "y", "--epochs", "3", "--no-progress", "--threads", "1"]
    assert main(["train", "--data", str(path), *flags, "--test-size", "24", "--out", str(out)]) == 0
    before = (out / "metrics.json").read_text()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    after = (out / "metrics.json").read_text()
    assert before.split('"fit_seconds"')[0] == after.split('"fit_seconds"')[0]
