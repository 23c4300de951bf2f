"""`rnnkit tune` end to end: the files it writes, best.toml through `rnnkit train`, the test
part never seen, the budget, and bad input as one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rnnkit.data.datasets import load_series
from tests.conftest import assert_one_line_error

pytest.importorskip("optuna")  # the tune extra (part of dev)
tomllib = pytest.importorskip("tomllib")  # Python >= 3.11 reads TOML

# epochs and hidden size fixed (so not searched): each trial is a fraction of a second
FAST = ["--epochs", "2", "--hidden-size", "8", "--threads", "1", "--no-progress"]


def tune(cli, out: Path, *extra: object, data: object = "airpassengers"):
    return cli("tune", "--data", data, "--test-size", "24", *FAST, "--out", out, *extra)


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three trials on AirPassengers, shared by the tests that read the folder."""
    from rnnkit.cli import main

    out = tmp_path_factory.mktemp("tune") / "air"
    args = ["tune", "--data", "airpassengers", "--test-size", "24", *FAST, "--trials", "3"]
    assert main([*map(str, args), "--out", str(out)]) == 0
    return out


def test_tune_writes_the_trials_the_plot_and_the_summary(searched: Path) -> None:
    trials = pd.read_csv(searched / "trials.csv")
    assert list(trials["trial"]) == [0, 1, 2]
    first = trials.iloc[0]  # the defaults: patch model, LSTM, its own window and lr
    assert (first["model"], first["cell"], first["window_factor"]) == ("patch", "lstm", 1.0)
    assert first["lr"] == pytest.approx(2e-3)
    assert trials["hidden_size"].isna().all()  # fixed on the command line: never searched
    done = trials[trials["state"] == "complete"]
    assert (done["value_mase"] == done["val_mase"]).all() and (done["val_mase"] > 0).all()
    assert (searched / "trials.png").stat().st_size > 0
    summary = json.loads((searched / "summary.json").read_text())
    search = summary["search"]
    assert search["trials"] == 3 and search["search_best_value"] == done["val_mase"].min()
    assert search["defaults_value"] == first["val_mase"]
    # the confirmation: trial 0 first, every candidate with 3 seeds, the lowest mean chosen
    confirmed = summary["confirmation"]
    assert confirmed[0]["trial"] == 0 and {c["trial"] for c in confirmed} == set(done["trial"])
    for c in confirmed:
        own = trials.set_index("trial").loc[c["trial"]]
        assert len(c["values"]) == 3 and c["values"][0] == own["val_mase"]
        assert c["mean"] == pytest.approx(sum(c["values"]) / 3) == own["seeds_mase"]
        assert len(set(c["values"])) == 3  # other seeds, other fits
    assert search["best_trial"] == min(confirmed, key=lambda c: c["mean"])["trial"]
    assert summary["fixed"] == {"epochs": 2, "hidden_size": 8}
    for name in ("best", "defaults"):
        scores = summary["test"][name]
        assert {"model", "naive", "seasonal_naive", "drift"} <= set(scores)
        assert scores["seasonal_naive"]["mase"] == pytest.approx(2.494, abs=1e-3)  # README


def test_best_toml_is_a_config_that_train_takes(cli, searched: Path, tmp_path: Path) -> None:
    best = tomllib.loads((searched / "best.toml").read_text())
    summary = json.loads((searched / "summary.json").read_text())
    chosen = summary["search"]["best_options"]
    assert best["data"] == "airpassengers" and best["test-size"] == 24
    assert best["epochs"] == 2 and best["hidden-size"] == 8
    for name, value in chosen.items():
        if value is not None:
            assert best[name.replace("_", "-")] == value
    out = tmp_path / "run"
    result = cli("train", "--config", searched / "best.toml", "--no-progress", "--out", out)
    assert result.code == 0, result.err
    trained = json.loads((out / "config.json").read_text())["forecaster"]
    for name, value in chosen.items():
        assert trained[name] == value, name
    # the same options, data and seed: the test score tune reported for its best
    metrics = json.loads((out / "metrics.json").read_text())["test"]["model"]
    assert metrics["mase"] == pytest.approx(summary["test"]["best"]["model"]["mase"], rel=1e-5)


def test_the_search_never_reads_the_test_part(cli, tmp_path: Path) -> None:
    """Corrupting the last 24 points changes no trial: same options, same validation scores."""
    frame = load_series("airpassengers")
    clean, corrupt = tmp_path / "clean.csv", tmp_path / "corrupt.csv"
    frame.to_csv(clean, index=False)
    target = frame.columns[-1]
    frame.loc[frame.index[-24:], target] = frame[target].iloc[-24:] * 50.0
    frame.to_csv(corrupt, index=False)
    tables = []
    for data in (clean, corrupt):
        out = tmp_path / data.stem
        result = tune(cli, out, "--trials", "2", "--target", target, data=data)
        assert result.code == 0, result.err
        tables.append(pd.read_csv(out / "trials.csv").drop(columns="seconds"))
    pd.testing.assert_frame_equal(tables[0], tables[1])  # and the seeded search repeats


def test_the_time_budget_stops_the_trial_under_way(cli, tmp_path: Path) -> None:
    out = tmp_path / "t"
    result = cli("tune", "--data", "airpassengers", "--test-size", "24", "--epochs", "150",
                 "--threads", "1", "--time-budget", "0.3", "--out", out)  # fmt: skip
    # no trial could finish: an error line after the trial's own line, no traceback
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip().splitlines()[-1].startswith("rnnkit: error: no trial completed")
    trials = pd.read_csv(out / "trials.csv")
    assert list(trials["state"]) == ["pruned"] and "time budget" in trials["note"][0]


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--trials", "0"], "positive integer"),
        (["--time-budget", "-5"], "positive"),
        (["--metric", "r2"], "invalid choice"),
        (["--test-size", "0"], "--val-size"),
        (["--val-size", "119"], "validation"),
        (["--val-folds", "9"], "--val-folds"),
        (["--confirm", "-1"], "integer >= 0"),
        (["--target", "nope"], "nope"),
        (["--model", "patch", "--strategy", "recursive"], "recursive"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    cli, tmp_path: Path, extra: list[str], needle: str
) -> None:
    out = tmp_path / "out"
    result = tune(cli, out, *extra)
    assert_one_line_error(result)
    assert needle in result.err and not out.exists()


def test_an_existing_folder_is_not_overwritten(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "trials.csv").write_text("mine")
    result = tune(cli, out, "--trials", "1")
    assert_one_line_error(result)
    assert "--overwrite" in result.err and (out / "trials.csv").read_text() == "mine"


def test_without_optuna_tune_is_one_line(cli, tmp_path: Path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    out = tmp_path / "out"
    result = tune(cli, out, "--trials", "1")
    assert_one_line_error(result)
    assert "rnnkit[tune]" in result.err and not out.exists()


def test_log_dir_has_one_run_per_trial_and_final_fit(cli, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    logs = tmp_path / "logs"
    result = tune(cli, tmp_path / "out", "--trials", "2", "--log-dir", logs)
    assert result.code == 0, result.err
    best = json.loads((tmp_path / "out" / "summary.json").read_text())["search"]["best_trial"]
    finals = ["best"] + (["defaults"] if best else [])  # defaults won: the same fit, once
    assert sorted(p.name for p in logs.iterdir()) == [*finals, "trial-000", "trial-001"]
