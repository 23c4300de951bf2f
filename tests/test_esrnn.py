"""The ES-RNN hybrid (``model="esrnn"``): its smoothing, that it learns, save/load, resume and
the inputs it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit import Forecaster
from rnnkit.errors import UserError
from rnnkit.forecasting import esrnn_training
from rnnkit.forecasting.esrnn import (
    ESRNNConfig,
    ESRNNModule,
    ESRNNNetwork,
    ewm_weights,
    season_profile,
)
from tests.test_forecaster_learns import seasonal_series
from tests.test_patch_resume import interrupt_and_resume


def test_exponential_weights_sum_to_one_and_favour_the_last_value() -> None:
    w = ewm_weights(torch.tensor([[0.5]]), 4)
    torch.testing.assert_close(w, torch.tensor([[0.0625 + 0.0625, 0.125, 0.25, 0.5]]))


def test_the_season_profile_of_repeated_cycles_is_the_cycle_minus_its_mean() -> None:
    cycle = torch.tensor([1.0, 3.0, 2.0, 6.0])  # mean 3
    v = cycle.repeat(3).unsqueeze(0)  # (1, 12)
    profile = season_profile(v, torch.ones_like(v), 4, torch.tensor([[0.3]]))
    torch.testing.assert_close(profile, torch.tensor([[-2.0, 0.0, -1.0, 3.0]]))
    # a padded first cycle (pads repeat the first value) is skipped, not averaged in
    padded = torch.cat([torch.full((1, 4), 9.0), cycle.repeat(2).unsqueeze(0)], dim=1)
    mask = torch.cat([torch.zeros(1, 4), torch.ones(1, 8)], dim=1)
    torch.testing.assert_close(season_profile(padded, mask, 4, torch.tensor([[0.9]])), profile)


def test_a_linear_trend_does_not_leak_into_the_season_profile() -> None:
    cycle = torch.tensor([1.0, 3.0, 2.0, 6.0])  # mean 3
    v = (cycle.repeat(5) + 0.5 * torch.arange(20.0)).unsqueeze(0)  # a rise of 0.5 a step
    profile = season_profile(v, torch.ones_like(v), 4, torch.tensor([[0.3]]))
    torch.testing.assert_close(profile, torch.tensor([[-2.0, 0.0, -1.0, 3.0]]))


def test_the_untrained_hybrid_forecasts_level_times_seasonality() -> None:
    """The network's output layer starts at zero, so an untrained hybrid forecasts its smoothed
    level plus seasonality: on a flat seasonal series (log space) that is the season itself."""
    config = ESRNNConfig(
        window=48, net_window=24, horizon=18, patch=12, seasons=[12], lags=[12], series=2
    )
    cycle = torch.linspace(-1, 1, 12) ** 2
    u = (5.0 + cycle - cycle.mean()).repeat(4).unsqueeze(0).repeat(2, 1)  # (2, 48)
    out = ESRNNNetwork(config)(u, torch.ones_like(u), torch.tensor([0, -1]))
    torch.testing.assert_close(out, u[:, [36 + h % 12 for h in range(18)]])
    module = ESRNNModule(ESRNNConfig(**{**config.__dict__, "members": 2}))
    raw = torch.stack([u.exp(), torch.ones_like(u)], dim=-1)  # raw values: exp of the log
    forecast = module(raw, torch.zeros(2, 2), torch.ones(2, 2), 30)[..., 0]
    torch.testing.assert_close(forecast, raw[:, [36 + h % 12 for h in range(30)], 0])


def test_esrnn_beats_seasonal_naive_on_a_trending_seasonal_series() -> None:
    torch.set_num_threads(1)
    frame = seasonal_series()
    model = Forecaster(model="esrnn", seed=0).fit(
        frame, target="value", time_col="date", test_size=24
    )
    scores = model.evaluate(frame, test_size=24)
    assert scores["model"]["mase"] < 0.6 * scores["seasonal_naive"]["mase"], scores
    assert scores["model"]["mape"] < scores["seasonal_naive"]["mape"]


def many(n: int = 3, length: int = 96) -> pd.DataFrame:
    """``n`` monthly series with different levels, trends and season sizes."""
    rng = np.random.default_rng(1)
    t = np.arange(length)
    parts = []
    for i in range(n):
        y = (50 + 30 * i) * (1 + 0.005 * i * t) * (1 + 0.1 * (i + 1) * np.sin(2 * np.pi * t / 12))
        y = y * (1 + 0.01 * rng.standard_normal(length))
        dates = pd.date_range("2001-01-01", periods=length, freq="MS")
        parts.append(pd.DataFrame({"id": f"s{i}", "date": dates, "y": y}))
    return pd.concat(parts, ignore_index=True)


def test_save_and_load_give_identical_forecasts_and_export_is_refused(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    frame = many()
    model = Forecaster(model="esrnn", epochs=3).fit(frame, target="y", time_col="date", id_col="id")
    assert model.module is not None and model.module.config.series == 3
    before = model.predict(30)
    model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    pd.testing.assert_frame_equal(before, loaded.predict(30))
    assert np.isfinite(before["forecast"]).all() and len(before) == 90
    # a series the model never saw takes the mean coefficients
    new = frame[frame["id"] == "s1"].assign(id="fresh")
    assert np.isfinite(loaded.predict(12, data=new)["forecast"]).all()
    with pytest.raises(UserError, match="esrnn cannot be exported"):
        loaded.export(tmp_path / "m.pt", format="torchscript")


def test_a_model_json_whose_network_is_malformed_is_refused(
    tmp_path: Path,
) -> None:
    model = Forecaster(model="esrnn", epochs=1).fit(
        many(), target="y", time_col="date", id_col="id"
    )
    model.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "model.json"
    meta = json.loads(meta_path.read_text())
    saved = dict(meta["network"])
    for key, value in (("series", 7), ("series", "x"), ("seasons", ["x"]), ("net_window", 0)):
        meta["network"] = {**saved, key: value}
        meta_path.write_text(json.dumps(meta))
        with pytest.raises(UserError):
            Forecaster.load(tmp_path / "m")


def test_options_the_hybrid_lacks_are_one_line_errors() -> None:
    with pytest.raises(UserError, match="esrnn model has no --strategy recursive"):
        Forecaster(model="esrnn", strategy="recursive")
    with pytest.raises(UserError, match="no covariates"):
        frame = seasonal_series().assign(x=1.0)
        Forecaster(model="esrnn").fit(frame, target="value", time_col="date", covariates=["x"])
    with pytest.raises(UserError, match="long enough"):
        Forecaster(model="esrnn").fit(seasonal_series(20), target="value", time_col="date")


def test_the_quantile_hybrid_gives_ordered_intervals() -> None:
    torch.set_num_threads(1)
    model = Forecaster(model="esrnn", likelihood="quantile", epochs=2)
    out = model.fit(seasonal_series(), target="value", time_col="date").predict(30)
    columns = ["lo_95", "lo_80", "forecast", "hi_80", "hi_95"]
    assert (np.diff(out[columns].to_numpy(), axis=1) >= 0).all()


def test_the_point_hybrid_is_calibrated_and_none_keeps_the_point_forecast() -> None:
    torch.set_num_threads(1)
    data = seasonal_series()
    calibrated = Forecaster(model="esrnn", epochs=2, seed=0).fit(data, target="value")
    out = calibrated.predict(30)
    columns = ["lo_95", "lo_80", "forecast", "hi_80", "hi_95"]
    assert (np.diff(out[columns].to_numpy(), axis=1) >= 0).all()
    assert (out["hi_95"] - out["lo_95"] > 0).all()
    plain = Forecaster(model="esrnn", epochs=2, seed=0, calibration="none").fit(
        data, target="value"
    )
    bare = plain.predict(30)
    assert list(bare.columns) == ["forecast"]
    np.testing.assert_allclose(bare["forecast"], out["forecast"], rtol=1e-6)


def test_cli_train_resume_predict_backtest_and_export(tmp_path: Path) -> None:
    from rnnkit.cli import main

    path, out = tmp_path / "s.csv", tmp_path / "run"
    seasonal_series().to_csv(path, index=False)
    flags = ["--target", "value", "--model", "esrnn", "--epochs", "2", "--no-progress"]
    flags += ["--threads", "1"]
    assert main(["train", "--data", str(path), *flags, "--test-size", "24", "--out", str(out)]) == 0
    before = (out / "metrics.json").read_text()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0  # finished: same result
    assert (
        before.split('"fit_seconds"')[0]
        == (out / "metrics.json").read_text().split('"fit_seconds"')[0]
    )
    assert main(["predict", str(out), "--steps", "6", "--out", str(tmp_path / "f.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "f.csv")) == 6
    backtest = ["backtest", "--data", str(path), *flags, "--folds", "2", "--test-size", "12"]
    assert main([*backtest, "--out", str(tmp_path / "bt")]) == 0
    assert main(["export", str(out), "--format", "torchscript"]) == 2


def test_an_esrnn_fit_interrupted_mid_epoch_resumes_bit_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.set_num_threads(1)

    def fitted(run_dir: Path | None = None, **checkpointing: Any) -> Forecaster:
        model = Forecaster(model="esrnn", epochs=3)
        frame = seasonal_series()
        return model.fit(frame, target="value", time_col="date", run_dir=run_dir, **checkpointing)

    reference = fitted()
    progress, resumed = interrupt_and_resume(fitted, esrnn_training.LOSSES, tmp_path, monkeypatch)
    assert progress["step"] > 0  # stopped mid-epoch
    assert resumed.history is not None and reference.history is not None
    assert [r.val_loss for r in resumed.history.records] == [
        r.val_loss for r in reference.history.records
    ]
    a, b = resumed.module.state_dict(), reference.module.state_dict()  # type: ignore[union-attr]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_patch_plus_esrnn_trains_both_members_and_forecasts_their_mean(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    frame = seasonal_series()
    model = Forecaster(model="patch+esrnn", seed=0)
    model.fit(frame, target="value", time_col="date", test_size=24)
    scores = model.evaluate(frame, test_size=24)
    assert scores["model"]["mase"] < 0.6 * scores["seasonal_naive"]["mase"], scores
    module = model.module
    assert isinstance(module, ESRNNModule) and module.config.partner
    net = module.members[0]
    assert isinstance(net, ESRNNNetwork) and net.partner is not None
    # both members learned (a zero-initialised head that stayed zero has not)
    for head in (net.net.head[-1], net.partner.head[-1]):
        assert isinstance(head, torch.nn.Linear) and head.weight.abs().sum() > 0
    u, mask = torch.randn(2, module.config.window), torch.ones(2, module.config.window)
    own, other = net.both(u, mask, torch.tensor([0, -1]))
    assert other is not None
    torch.testing.assert_close(net(u, mask, torch.tensor([0, -1])), (own + other) / 2)
    model.save(tmp_path / "m")
    pd.testing.assert_frame_equal(model.predict(30), Forecaster.load(tmp_path / "m").predict(30))
    with pytest.raises(UserError, match="point forecasts"):
        Forecaster(model="patch+esrnn", likelihood="quantile")
