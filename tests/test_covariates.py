"""Known-future, static and calendar covariates of the patch model (rnnkit.forecasting.covariates,
.future, .calendar): learned, leak-free, saved, and refused with one line when malformed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnkit import Forecaster
from rnnkit.errors import UserError
from rnnkit.forecasting.calendar import calendar_features, calendar_names

FAST = {"seed": 0, "hidden_size": 16, "calendar": "off", "device": "cpu"}


def promo_table(n_series: int = 3, length: int = 240, seed: int = 0) -> pd.DataFrame:
    """Daily sales with a weekly cycle and random promotion days that add 40% (known ahead)."""
    rng = np.random.default_rng(seed)
    parts = []
    for s in range(n_series):
        promo = (rng.random(length) < 0.2).astype(float)
        week = 10 * np.sin(2 * np.pi * np.arange(length) / 7)
        sales = (100 + 20 * s + week) * (1 + 0.4 * promo) + rng.normal(0, 1.5, length)
        parts.append(
            pd.DataFrame(
                {
                    "date": pd.date_range("2021-01-01", periods=length, freq="D"),
                    "store": f"s{s}",
                    "sales": sales,
                    "promo": promo,
                    "region": "north" if s % 2 else "south",
                    "size": float(10 + s),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def fit(frame: pd.DataFrame, test: int | None = 14, **columns) -> Forecaster:  # type: ignore[no-untyped-def]
    return Forecaster(**FAST).fit(
        frame, target="sales", time_col="date", id_col="store", test_size=test, **columns
    )


def future_rows(frame: pd.DataFrame, steps: int, promo: float = 1.0) -> pd.DataFrame:
    """The steps after each series' end, with a promotion value."""
    last = pd.Timestamp(frame["date"].max())
    dates = pd.date_range(last + pd.Timedelta(days=1), periods=steps, freq="D")
    stores = sorted(frame["store"].unique())
    return pd.DataFrame(
        {"date": np.tile(dates, len(stores)), "store": np.repeat(stores, steps), "promo": promo}
    )


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return promo_table()


@pytest.fixture(scope="module")
def with_promo(table: pd.DataFrame) -> Forecaster:
    return fit(table, future_covariates=["promo"], static_covariates=["region", "size"])


def test_a_known_future_covariate_is_learned(table: pd.DataFrame, with_promo: Forecaster) -> None:
    """Promotions the model cannot see make it miss by far more than when it can."""
    without = fit(table).evaluate(table, test_size=14)["model"]["mase"]
    seen = with_promo.evaluate(table, test_size=14)["model"]["mase"]
    assert seen < 0.6 * without, (seen, without)


def test_the_forecast_follows_the_future_values(
    table: pd.DataFrame, with_promo: Forecaster
) -> None:
    model = with_promo.observe(table)
    on = model.predict(7, future=future_rows(table, 7, 1.0))["forecast"].to_numpy()
    off = model.predict(7, future=future_rows(table, 7, 0.0))["forecast"].to_numpy()
    assert (on > off * 1.15).mean() > 0.8  # a 40% lift, learned


def test_nothing_after_the_cut_reaches_the_fit(table: pd.DataFrame) -> None:
    """Leakage: the target and the covariate after each series' training part changed beyond
    recognition; the fit (weights, covariate scaling) and its forecasts are the same."""
    corrupt = table.copy()
    tail = corrupt.groupby("store").cumcount(ascending=False) < 14
    corrupt.loc[tail, "sales"] = 1e6
    corrupt.loc[tail, "promo"] = -50.0
    a = fit(table, future_covariates=["promo"])
    b = fit(corrupt, future_covariates=["promo"])
    assert a.covariate_spec() == b.covariate_spec()
    pa, pb = a.predict(14, future=held(table)), b.predict(14, future=held(table))
    np.testing.assert_array_equal(pa["forecast"].to_numpy(), pb["forecast"].to_numpy())


def held(frame: pd.DataFrame) -> pd.DataFrame:
    """The last 14 rows of each series' promo column: the steps after a 14-point cut."""
    return frame[frame.groupby("store").cumcount(ascending=False) < 14][["date", "store", "promo"]]


def test_save_and_load_keep_the_covariates(
    table: pd.DataFrame, with_promo: Forecaster, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    model = with_promo.observe(table)
    model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    future = future_rows(table, 7)
    a, b = model.predict(7, future=future), loaded.predict(7, future=future)
    np.testing.assert_allclose(a["forecast"], b["forecast"], rtol=1e-6)
    assert loaded.covariate_spec().static_levels == [["north", "south"], []]


def test_a_new_series_reads_its_static_covariates_from_the_data(
    table: pd.DataFrame, with_promo: Forecaster
) -> None:
    new = table[table["store"] == "s0"].assign(store="s9", region="west")  # unseen category
    out = with_promo.predict(3, data=new, future=future_rows(new, 3).assign(store="s9"))
    assert list(out["store"].unique()) == ["s9"] and np.isfinite(out["forecast"]).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.iloc[1:], "lacks 1 of the 7 forecast steps"),
        (lambda f: f[f["store"] != "s1"], "no rows for series 's1'"),
        (lambda f: f.drop(columns="promo"), "no column 'promo'"),
        (lambda f: f.assign(promo=["x"] + [1.0] * (len(f) - 1)), "non-numeric or empty value"),
        (lambda f: f.assign(promo=[np.nan] + [1.0] * (len(f) - 1)), "non-numeric or empty value"),
    ],
    ids=["missing-step", "missing-series", "missing-column", "text", "nan"],
)
def test_a_bad_future_table_is_one_line(table, with_promo, change, message) -> None:  # type: ignore[no-untyped-def]
    model = with_promo.observe(table)
    with pytest.raises(UserError, match=message):
        model.predict(7, future=change(future_rows(table, 7)))


def test_a_model_with_future_covariates_needs_their_values(
    table: pd.DataFrame, with_promo: Forecaster
) -> None:
    with pytest.raises(UserError, match="known-future covariates \\(promo\\)"):
        with_promo.predict(3)


def test_a_static_covariate_that_varies_is_refused(table: pd.DataFrame) -> None:
    varying = table.assign(size=np.arange(len(table), dtype=float))
    with pytest.raises(UserError, match="static covariate 'size' varies within series 's0'"):
        fit(varying, static_covariates=["size"])


def test_unknown_covariate_columns_are_named(table: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="promotion"):
        fit(table, future_covariates=["promotion"])
    with pytest.raises(UserError, match="regio"):
        fit(table, static_covariates=["regio"])


def test_the_classic_model_refuses_them_naming_the_patch_model(table: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="--model patch"):
        Forecaster(model="classic").fit(
            table, target="sales", time_col="date", id_col="store", future_covariates=["promo"]
        )


def test_calendar_features_by_hand() -> None:
    names = calendar_names("on", "D")
    assert names == [
        "calendar:week_sin",
        "calendar:week_cos",
        "calendar:year_sin",
        "calendar:year_cos",
        "calendar:holiday",
    ]
    # Monday 2020-01-06; Christmas; Friday 3 July 2020 (4 July, a Saturday, observed); 4 July
    days = pd.DatetimeIndex(["2020-01-06", "2020-12-25", "2020-07-03", "2020-07-04", "2020-07-06"])
    values = calendar_features(days, names)
    assert values[0, 0] == pytest.approx(0.0) and values[0, 1] == pytest.approx(1.0)
    assert values[:, 4].tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert values[1, 2] == pytest.approx(np.sin(2 * np.pi * 359 / 366), abs=1e-6)


def test_which_data_gets_calendar_features() -> None:
    assert calendar_names("auto", None) == [] and calendar_names("on", None) == []  # integer
    assert calendar_names("auto", "MS") == [] and calendar_names("off", "D") == []
    assert calendar_names("on", "MS") == ["calendar:month_sin", "calendar:month_cos"]
    assert calendar_names("auto", "h") == [] and len(calendar_names("on", "h")) == 5
    assert calendar_names("on", "YS") == [] and len(calendar_names("auto", "D")) == 5
    with pytest.raises(UserError, match="calendar"):
        calendar_names("sometimes", "D")


def test_a_past_covariate_after_the_cut_changes_nothing(table: pd.DataFrame) -> None:
    """The classic model's past covariates: values after the cut (target and covariate) never
    reach the fit, the scaling or the held-out forecasts."""
    one = table[table["store"] == "s0"].drop(columns=["store", "region", "size"])
    corrupt = one.copy()
    corrupt.iloc[-14:, corrupt.columns.get_loc("promo")] = 1e6
    corrupt.iloc[-14:, corrupt.columns.get_loc("sales")] = -1e6
    options = {"model": "classic", "seed": 0, "epochs": 2, "hidden_size": 8, "device": "cpu"}
    fits = [
        Forecaster(**options).fit(
            f, target="sales", time_col="date", covariates=["promo"], test_size=14
        )
        for f in (one, corrupt)
    ]
    a, b = (f.holdout(one, test_size=14).forecasts[0] for f in fits)
    np.testing.assert_array_equal(a, b)
    assert fits[0].scaler.loc.tolist() == fits[1].scaler.loc.tolist()
