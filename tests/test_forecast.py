"""The Forecaster through its Python API: fit, predict, evaluate, save/load, many series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnkit import CELLS, Forecaster
from rnnkit.errors import UserError

TINY = {"model": "classic", "hidden_size": 8, "epochs": 2, "lr": 1e-2, "window": 12, "horizon": 4}


def monthly(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 100 + t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    dates = pd.date_range("2000-01-01", periods=n, freq="MS")
    return pd.DataFrame({"date": dates, "y": values, "x": rng.normal(0, 1, n)})


def fitted(**options: object) -> Forecaster:
    return Forecaster(**{**TINY, **options}).fit(monthly(), target="y", time_col="date")


def test_scaler_and_model_never_see_the_test_part() -> None:
    frame = monthly()
    wild = frame.copy()
    wild.loc[48:, "y"] = 1e5  # only the last 12 points (the test part) change
    a = Forecaster(**TINY).fit(frame, target="y", time_col="date", test_size=12)
    b = Forecaster(**TINY).fit(wild, target="y", time_col="date", test_size=12)
    assert np.array_equal(a.scaler.loc, b.scaler.loc)
    assert np.array_equal(a.scaler.scale, b.scaler.scale)
    train_part = frame.iloc[:48]
    pd.testing.assert_frame_equal(a.predict(6, data=train_part), b.predict(6, data=train_part))
    # and the held-out forecasts start right after the training part
    assert a.predict(1).index[0] == frame["date"][48]


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
@pytest.mark.parametrize("likelihood", [None, "gaussian", "quantile"])
def test_every_strategy_and_likelihood(strategy: str, likelihood: str | None) -> None:
    options = {"strategy": strategy, "likelihood": likelihood, "samples": 20}
    if strategy == "recursive":
        options["horizon"] = None
    forecaster = fitted(**options)
    table = forecaster.predict(7)
    assert len(table) == 7
    assert list(table.index) == list(pd.date_range("2005-01-01", periods=7, freq="MS"))
    # calibrated intervals on every head, the point model's too
    assert list(table.columns) == ["forecast", "lo_80", "hi_80", "lo_95", "hi_95"]
    ordered = ["lo_95", "lo_80", "forecast", "hi_80", "hi_95"]
    assert (table[ordered].diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert np.isfinite(table.to_numpy()).all()
    raw = fitted(**options, calibration="none").predict(7)
    pd.testing.assert_series_equal(raw["forecast"], table["forecast"])  # the same point forecast
    assert list(raw.columns) == (["forecast"] if likelihood is None else list(table.columns))


def test_save_then_load_gives_identical_predictions(tmp_path: Path) -> None:
    for likelihood in (None, "gaussian"):
        forecaster = fitted(likelihood=likelihood, samples=16)
        forecaster.save(tmp_path / str(likelihood))
        loaded = Forecaster.load(tmp_path / str(likelihood))
        pd.testing.assert_frame_equal(forecaster.predict(9), loaded.predict(9))
        new = monthly(seed=3)
        pd.testing.assert_frame_equal(forecaster.predict(3, data=new), loaded.predict(3, new))
    with pytest.raises(UserError, match="already holds"):
        forecaster.save(tmp_path / "gaussian")


def test_bad_checkpoints_are_user_errors(tmp_path: Path) -> None:
    fitted().save(tmp_path / "run")
    weights = tmp_path / "run" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(UserError, match="safetensors"):
        Forecaster.load(tmp_path / "run")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "model.json").write_text(
        '{"format": "rnnkit-model", "format_version": 1, "kind": "text"}'
    )
    with pytest.raises(UserError, match="forecaster"):
        Forecaster.load(tmp_path / "other")
    with pytest.raises(UserError, match="not fitted"):
        Forecaster().predict(3)


def test_evaluate_reports_model_and_baselines() -> None:
    forecaster = Forecaster(**TINY, likelihood="quantile").fit(
        monthly(), target="y", time_col="date", test_size=12
    )
    result = forecaster.evaluate(monthly(), test_size=12)
    assert list(result) == ["model", "naive", "seasonal_naive", "drift", "naive2"]
    metrics = {"mae", "rmse", "mase", "smape", "mape", "owa"}
    assert set(result["model"]) == metrics | {"coverage", "acd", "msis"}
    assert set(result["model"]["coverage"]) == set(result["model"]["acd"]) == {"80", "95"}
    assert result["naive2"]["owa"] == pytest.approx(1.0)
    y = monthly()["y"].to_numpy()
    # seasonal naive repeats the last 12 training months; MASE divides by the in-sample lag-12 MAE
    expected = np.mean(np.abs(y[48:] - y[36:48])) / np.mean(np.abs(y[12:48] - y[:36]))
    assert result["seasonal_naive"]["mase"] == pytest.approx(expected)


def test_covariates_series_input_and_backtest() -> None:
    forecaster = fitted(strategy="recursive", horizon=None, epochs=1)
    with_cov = Forecaster(**TINY).fit(monthly(), target="y", covariates=["x"], time_col="date")
    assert with_cov.module.config.features == 2 and len(with_cov.predict(5)) == 5
    series = monthly().set_index("date")["y"]
    from_series = Forecaster(**TINY).fit(series)
    assert from_series.predict(2).index[0] == pd.Timestamp("2005-01-01")
    result = forecaster.backtest(monthly(), folds=2, test_size=6)
    assert len(result.folds) == 2 and result.settings["step"] == 6
    assert str(result.folds[1].cutoff).startswith("2004-06")
    with pytest.raises(UserError, match="did you mean 'hidden_size'"):
        Forecaster(hiden_size=3)


def test_a_thousand_series_end_to_end_in_one_batched_predict() -> None:
    rng = np.random.default_rng(0)
    n_series, length = 1000, 20
    t = np.tile(np.arange(length), n_series)
    ids = np.repeat([f"s{i}" for i in range(n_series)], length)
    level = np.repeat(rng.uniform(10, 1000, n_series), length)
    frame = pd.DataFrame(
        {"id": ids, "step": t, "y": level * (1 + 0.1 * np.sin(t)) + rng.normal(0, 1, len(t))}
    )
    forecaster = Forecaster(hidden_size=8, epochs=1, window=8, horizon=4, batch_size=256)
    forecaster.fit(frame.drop(columns="step"), target="y", id_col="id")
    table = forecaster.predict(4)
    assert len(table) == 4 * n_series
    assert list(table.columns) == ["id", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert table["id"].iloc[:8].tolist() == ["s0"] * 4 + ["s1"] * 4
    assert table.index[:4].tolist() == [20, 21, 22, 23]
    # per-series scaling: forecasts follow each series' own level
    last = frame.groupby("id", sort=False)["y"].last().to_numpy()
    first_step = table["forecast"].to_numpy()[::4]
    assert np.corrcoef(np.log(last), np.log(first_step))[0, 1] > 0.9
    some = forecaster.predict(2, ids=["s7", "s3"])
    assert some["id"].tolist() == ["s7", "s7", "s3", "s3"]
    with pytest.raises(UserError, match="unknown series id"):
        forecaster.predict(2, ids=["nope"])


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_every_cell_forecasts(cell: str) -> None:
    backend = "rnnkit" if "torch" not in CELLS[cell] else "auto"
    forecaster = fitted(cell=cell, backend=backend, epochs=1, window=6)
    assert np.isfinite(forecaster.predict(5)["forecast"].to_numpy()).all()
