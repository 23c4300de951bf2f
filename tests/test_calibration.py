"""Split-conformal interval calibration: the quantile by hand, the bounds, and coverage reached."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit import Forecaster
from rnnkit.errors import UserError
from rnnkit.forecasting.calibration import (
    Calibration,
    conformal_quantile,
    fit_calibration,
    growth_exponent,
    measured_growth,
    spread,
    window_spread,
)

HORIZON = 6


def test_conformal_quantile_by_hand() -> None:
    scores = np.array([9.0, 1.0, 8.0, 2.0, 7.0, 3.0, 6.0, 4.0, 5.0])
    # n = 9: level 0.8 -> the ceil(10 * 0.8) = 8th smallest; 0.5 -> the 5th
    assert conformal_quantile(scores, 0.8) == 8.0
    assert conformal_quantile(scores, 0.5) == 5.0
    assert conformal_quantile(scores, 0.95) == 9.0  # ceil(9.5) = 10 > n: the largest
    with pytest.raises(UserError):
        conformal_quantile(np.array([np.nan]), 0.8)


def test_window_spread_is_the_masked_seasonal_mean_absolute_difference() -> None:
    u = torch.tensor([[0.0, 1.0, 0.0, 3.0, 0.0, 5.0]])
    assert window_spread(u, None, 2).item() == pytest.approx((0 + 2 + 0 + 2) / 4)
    assert window_spread(u, None, 1).item() == pytest.approx((1 + 1 + 3 + 3 + 5) / 5)
    mask = torch.tensor([[0.0, 0.0, 1.0, 1.0, 1.0, 1.0]])  # only the last 4 are real
    assert window_spread(u, mask, 2).item() == pytest.approx((0 + 2) / 2)
    assert window_spread(torch.zeros(1, 6), None, 2).item() == pytest.approx(1e-3)  # floor


def test_symmetric_bounds_by_hand_ordered_and_grown_beyond_the_horizon() -> None:
    widths = np.array([[1.0, 2.0], [2.0, 3.0]])  # (H = 2, [80%, 95%]) in spreads
    cal = Calibration("symmetric", widths, lag=1)
    raw = torch.tensor([[[0.0], [2.0], [0.0], [2.0]]])  # spread (lag 1) = 2
    out = torch.tensor([[[10.0], [20.0], [30.0]]])  # 3 steps, one past the horizon
    zero, one, log = torch.zeros(1, 1), torch.ones(1, 1), torch.tensor([False])
    got = cal(out, raw, zero, one, log)[0]  # (steps, 5)
    assert got[0].tolist() == [6.0, 8.0, 10.0, 12.0, 14.0]
    assert got[1].tolist() == [14.0, 16.0, 20.0, 24.0, 26.0]
    grow = np.sqrt(3 / 2)  # step 3 of a 2-step table: the last row x sqrt(h / H)
    assert got[2].numpy() == pytest.approx(30 + 2 * grow * np.array([-3, -2, 0, 2, 3]), rel=1e-6)


def test_growth_beyond_the_horizon_follows_the_exponent_and_stops_after_two_horizons() -> None:
    cal = Calibration("symmetric", np.array([[1.0, 2.0]] * 2), lag=1, growth=0.25)
    w = cal.step_widths(8).numpy()  # H = 2: steps 3..4 grow as (h / 2)^0.25, then hold
    assert w[2, 0] == pytest.approx(1.5**0.25) and w[3, 1] == pytest.approx(2 * 2**0.25)
    assert w[4:].tolist() == [w[3].tolist()] * 4
    flat = Calibration("symmetric", np.array([[1.0, 2.0]] * 2), lag=1, growth=0.0)
    assert flat.step_widths(5).numpy().tolist() == [[1.0, 2.0]] * 5
    scaled = Calibration("scaled", np.array([[1.0, 2.0]] * 2), lag=1, masked=True)
    assert scaled.step_widths(8)[-1].numpy() == pytest.approx([2.0, 4.0])  # sqrt(8 / 2), no hold
    with pytest.raises(UserError):
        Calibration("symmetric", np.array([[1.0, 2.0]]), growth=1.5)


def test_pooled_step_scale_is_the_power_law_of_the_per_step_errors() -> None:
    h = np.arange(1, 9, dtype=np.float64)
    rng = np.random.default_rng(0)
    errors = 0.3 * h**0.4 * rng.choice([0.5, 1.5], size=(40, 8))  # mean 0.3 h^0.4 per step
    errors[:, 3] *= 3.0  # one noisy step: a running maximum would keep it for every later step
    scale = spread(errors)
    assert (np.diff(scale) > 0).all()
    assert scale[-1] < 3.0 * 0.3 * 8**0.4  # not held at the outlier's level
    clean = spread(np.tile(0.3 * h**0.4, (5, 1)))
    assert clean == pytest.approx(0.3 * h**0.4, rel=1e-9)


def test_growth_exponents_from_the_widths_and_from_fed_back_errors() -> None:
    h = np.arange(1, 13, dtype=np.float64)
    assert growth_exponent(2.0 * h**0.3) == pytest.approx(0.3)
    assert growth_exponent(h**0.9) == 0.5  # at most a random walk's
    assert growth_exponent(1.0 / h) == 0.0 and growth_exponent(np.ones(1)) == 0.5
    steps = np.arange(1, 25, dtype=np.float64)  # two horizons of 12
    level = 0.5 * np.minimum(steps, 12) ** 0.5  # the first horizon's errors, then:
    grows = np.where(steps <= 12, level, 0.5 * 12**0.5 * (steps / 12) ** 0.25)
    assert measured_growth(np.tile(grows, (10, 1))) == pytest.approx(0.25, abs=0.01)
    assert measured_growth(np.tile(level, (10, 1))) == 0.0  # levelled off at step H
    assert measured_growth(np.tile(np.r_[level[:12], 3 * level[12:]], (10, 1))) == 0.5


def test_cqr_moves_bounds_out_or_in_and_never_crosses() -> None:
    out = np.array([[[-2.0, -1.0, 0.0, 1.0, 2.0]]] * 200)  # (N, H = 1, 5) unit space
    y = np.linspace(-4, 4, 200)[:, None]  # wider than the intervals claim
    cal = fit_calibration("quantile", out, y, np.ones(200), lag=1, masked=False)
    assert cal.method == "cqr" and (cal.widths > 0).all()  # moved out
    assert cal.growth == 0.5  # its bounds start narrow again in every fed-back horizon
    inside = np.abs(y) < 0.5
    narrow = fit_calibration("quantile", out, y * inside, np.ones(200), 1, False)
    assert (narrow.widths < 0).all()  # moved in
    raw, zero, one = torch.zeros(1, 3, 1), torch.zeros(1, 1), torch.ones(1, 1)
    got = narrow(torch.tensor(out[:1], dtype=torch.float32), raw, zero, one, torch.tensor([False]))
    assert (got.diff(dim=-1) >= 0).all()


def test_saved_form_round_trips_and_malformed_is_a_user_error() -> None:
    cal = Calibration("scaled", np.array([[1.1, 1.3]] * 3), 7, lag=24, masked=True, growth=0.2)
    back = Calibration.from_dict(cal.to_dict())
    assert back is not None and back.to_dict() == cal.to_dict() and back.growth == 0.2
    assert Calibration.from_dict(None) is None
    for bad in (
        {"method": "scaled"},
        {**cal.to_dict(), "method": "magic"},
        {**cal.to_dict(), "widths": [[1.0, float("nan")]]},
        {**cal.to_dict(), "growth": "fast"},
        {**cal.to_dict(), "growth": -1.0},
    ):
        with pytest.raises(UserError):
            Calibration.from_dict(bad)


def noisy_series(n_series: int = 160, length: int = 72, seed: int = 0) -> pd.DataFrame:
    """Seasonal series (period 12) whose noise level differs 20-fold between series."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    rows = []
    for i in range(n_series):
        noise = rng.uniform(0.01, 0.2)
        level = 100 * np.exp(0.2 * np.sin(2 * np.pi * t / 12) + noise * rng.standard_normal(length))
        rows.append(pd.DataFrame({"id": f"s{i}", "t": t, "y": level}))
    return pd.concat(rows, ignore_index=True)


def coverage(forecaster: Forecaster, frame: pd.DataFrame) -> dict[str, float]:
    held = forecaster.holdout(frame, test_size=HORIZON)
    truth, f = np.concatenate(held.truths), np.concatenate(held.forecasts)
    return {
        "80": float(np.mean((f[:, 1] <= truth) & (truth <= f[:, 3]))),
        "95": float(np.mean((f[:, 0] <= truth) & (truth <= f[:, 4]))),
    }


@pytest.mark.parametrize("likelihood", [None, "quantile"])
def test_calibration_reaches_nominal_coverage_where_the_head_does_not(likelihood) -> None:  # type: ignore[no-untyped-def]
    """A barely trained model's own intervals miss; calibrated on the end of the training part,
    the next HORIZON points of 160 series are covered within 5 points of nominal."""
    frame = noisy_series()
    options = {"likelihood": likelihood, "epochs": 2, "hidden_size": 8, "seed": 0}
    fit = {"target": "y", "time_col": "t", "id_col": "id", "test_size": HORIZON}
    model = Forecaster(horizon=HORIZON, season=12, **options).fit(frame, **fit)
    after = coverage(model, frame)
    assert after["80"] == pytest.approx(0.80, abs=0.05) and after["95"] == pytest.approx(
        0.95, abs=0.05
    )
    raw = Forecaster(horizon=HORIZON, season=12, calibration="none", **options).fit(frame, **fit)
    pd.testing.assert_series_equal(raw.predict(3)["forecast"], model.predict(3)["forecast"])
    if likelihood is None:  # a point model has no intervals of its own
        assert list(raw.predict(3).columns) == ["id", "forecast"]
    else:
        before = coverage(raw, frame)
        assert abs(before["80"] - 0.80) > 0.1 or abs(before["95"] - 0.95) > 0.1, before


def test_fed_back_errors_are_those_of_the_models_own_two_horizon_forecast() -> None:
    """The proxy's growth measurement forecasts a second horizon as ``predict`` does."""
    from rnnkit.forecasting.calibration_data import fed_back_errors

    t = np.arange(120)
    frame = pd.DataFrame({"t": t, "y": np.sin(2 * np.pi * t / 12) + 0.01 * t})
    model = Forecaster(horizon=4, season=12, epochs=1, transform="none", seed=0)
    module = model.fit(frame, target="y", time_col="t").fitted().module
    c = module.config
    rng = np.random.default_rng(1)
    raw = torch.tensor(rng.normal(size=(5, c.window)), dtype=torch.float32) + 3.0
    truth = torch.tensor(rng.normal(size=(5, 2 * c.horizon)), dtype=torch.float32) + 3.0
    mask = torch.ones_like(raw)
    mask[0, : c.patch] = 0.0  # a padded start
    level = raw[:, -c.patch :].mean(dim=1, keepdim=True)
    windows = (raw - level, mask, truth - level, torch.zeros(5, c.window + 2 * c.horizon, 0))
    got = fed_back_errors(module, (*windows, torch.zeros(5, 0)), c.patch)
    zero, one = torch.zeros(5, 2), torch.ones(5, 2)
    with torch.inference_mode():
        forecast = module(torch.stack([raw, mask], dim=-1), zero, one, 2 * c.horizon)[..., 0]
    spreads = window_spread(raw, mask, c.patch)
    want = ((forecast - truth).abs() / spreads[:, None]).numpy()
    assert got.shape == (5, 2 * c.horizon) and got == pytest.approx(want, rel=1e-4, abs=1e-5)
