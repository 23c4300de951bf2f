"""`rnnkit compare`: the budget rule, the memory measure, the run folder, and bad input."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.compare.measure import hidden_for_budget, memory_bytes
from rnnkit.data.tasks import TaskSizes, make_task
from rnnkit.models import CELLS, ModelConfig, SequenceModel, count_parameters
from tests.conftest import assert_one_line_error, flag_help

TINY = ["--length", "8", "--epochs", "1", "--hidden-size", "4", "--train-size", "64"]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "mingru"])
@pytest.mark.parametrize("budget", [50, 1000, 5003])
def test_param_budget_picks_the_closest_hidden_size(cell: str, budget: int) -> None:
    chosen = hidden_for_budget(ModelConfig(cell=cell, input_size=2, hidden_size=1), budget)

    def params(h: int) -> int:
        model = SequenceModel(ModelConfig(cell=cell, input_size=2, hidden_size=h))
        return count_parameters(model)

    counts = [params(1)]  # brute force: every size up to twice the budget
    while counts[-1] <= 2 * budget:
        counts.append(params(len(counts) + 1))
    assert abs(params(chosen) - budget) == min(abs(c - budget) for c in counts)


def test_memory_grows_with_sequence_length_and_gates() -> None:
    short, long = (make_task("adding", n, sizes=TaskSizes(8, 4, 4)) for n in (10, 40))

    def measure(cell: str, task) -> int:
        model = SequenceModel(ModelConfig(cell=cell, input_size=2, hidden_size=16))
        batch = next(task.train.iter_batches(8))
        return memory_bytes(model, task.loss_fn, batch, torch.device("cpu"))

    weights = (
        4
        * 4
        * count_parameters(SequenceModel(ModelConfig(cell="rnn", input_size=2, hidden_size=16)))
    )
    assert measure("rnn", short) > weights
    assert measure("rnn", long) > measure("rnn", short)
    assert measure("lstm", long) > measure("rnn", long)


def test_compare_end_to_end(cli, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = cli("compare", "--task", "adding", *TINY, "--seeds", "0,1", "--out", out)
    assert result.code == 0, result.err
    summary = json.loads((out / "compare.json").read_text())
    assert [r["cell"] for r in summary["results"]] == ["rnn", "lstm", "gru"]
    assert len(summary["runs"]) == 6
    baseline = summary["baseline"]["test_metric"]
    y_test = make_task("adding", 8, sizes=TaskSizes(train=64)).test.tensors()[1]
    assert baseline == pytest.approx(float(((y_test - 1) ** 2).mean()), rel=1e-6)
    for row in summary["results"]:
        runs = [r for r in summary["runs"] if r["cell"] == row["cell"]]
        metrics = [r["test_metric"] for r in runs]
        assert row["test_metric_mean"] == pytest.approx(statistics.fmean(metrics))
        assert row["test_metric_std"] == pytest.approx(statistics.stdev(metrics))
        assert row["solved_seeds"] == sum(m <= 0.1 * baseline for m in metrics)
        assert row["hidden_size"] == 4 and row["params"] > 0 and row["memory_mb"] > 0
        assert row["seconds_per_epoch"] > 0
        assert all(len(r["history"]["records"]) == 1 for r in runs)
    assert (out / "learning_curves.png").stat().st_size > 0
    assert "solved" in result.out and "trivial baseline" in result.out


def test_compare_with_param_budget_and_other_tasks(cli, tmp_path: Path) -> None:
    out = tmp_path / "budget"
    args = ["--length", "6", "--epochs", "1", "--train-size", "32", "--seeds", "0"]
    result = cli("compare", "--task", "copy", *args, "--param-budget", "600", "--out", out)
    assert result.code == 0, result.err
    rows = json.loads((out / "compare.json").read_text())["results"]
    assert len({r["hidden_size"] for r in rows}) == 3  # different cells, different sizes
    assert all(abs(r["params"] - 600) < 150 for r in rows)
    result = cli("compare", "--task", "sine", *args, "--hidden-size", "4", "--out", tmp_path / "s")
    assert result.code == 0, result.err
    assert json.loads((tmp_path / "s" / "compare.json").read_text())["metric"] == "mse"


def test_every_registry_cell_in_the_rnnkit_backend(cli, tmp_path: Path) -> None:
    cells = ",".join(CELLS)
    result = cli(
        "compare", *TINY, "--train-size", "16", "--seeds", "0", "--cells", cells,
        "--backend", "rnnkit", "--out", tmp_path / "all",
    )  # fmt: skip
    assert result.code == 0, result.err
    rows = json.loads((tmp_path / "all" / "compare.json").read_text())["results"]
    assert [r["cell"] for r in rows] == list(CELLS)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--task", "addng"], "did you mean 'adding'"),
        (["--task", "sunspot"], "did you mean 'sunspots'"),
        (["--task", "missing.csv"], "missing.csv"),
        (["--cells", "rnn,lstn"], "did you mean 'lstm'"),
        (["--cells", "mingru", "--backend", "torch"], "rnnkit backend"),
        (["--cells", "gru,gru"], "twice"),
        (["--length", "0"], "positive"),
        (["--length", "1"], "length"),  # the adding problem needs one marker per half
        (["--hidden-size", "8", "--param-budget", "500"], "not allowed with"),
        (["--seeds", "0,x"], "integers"),
    ],
)
def test_bad_compare_input_is_one_line_exit_2(
    cli, tmp_path: Path, args: list[str], needle: str
) -> None:
    result = cli("compare", "--epochs", "1", *args, "--out", tmp_path / "o")
    assert_one_line_error(result)
    assert needle in result.err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_compare_refuses_non_empty_or_unwritable_out(cli, tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("precious")
    result = cli("compare", *TINY, "--out", tmp_path)
    assert_one_line_error(result)
    assert "--overwrite" in result.err
    assert (tmp_path / "mine.txt").read_text() == "precious"
    result = cli("compare", *TINY, "--out", tmp_path / "mine.txt" / "sub")
    assert_one_line_error(result)


def test_compare_on_a_bundled_series_and_a_user_file(cli, tmp_path: Path) -> None:
    args = ["--cells", "rnn,gru", "--seeds", "0", "--hidden-size", "4", "--epochs", "1"]
    result = cli("compare", "--task", "airpassengers", *args, "--out", tmp_path / "air")
    assert result.code == 0, result.err
    summary = json.loads((tmp_path / "air" / "compare.json").read_text())
    assert summary["metric"] == "mase" and summary["baseline"]["name"] == "seasonal naive"
    assert summary["baseline"]["test_metric"] > 0
    for row in summary["results"]:
        assert row["solved"] == (
            row["test_metric_mean"] <= 0.9 * summary["baseline"]["test_metric"]
        )
    months = pd.date_range("2000-01-01", periods=96, freq="MS")
    values = 10 + np.sin(np.arange(96) * 2 * np.pi / 12) + 0.05 * np.arange(96)
    path = tmp_path / "mine.csv"
    pd.DataFrame({"month": months.strftime("%Y-%m-%d"), "sales": values}).to_csv(path, index=False)
    common = ["--task", path, *args, "--time-col", "month"]
    result = cli("compare", *common, "--target", "sales", "--out", tmp_path / "f")
    assert result.code == 0, result.err
    assert_one_line_error(cli("compare", *common, "--out", tmp_path / "g"))  # no --target
    result = cli(
        "compare", *common, "--target", "sales", "--param-budget", "99", "--out", tmp_path / "g"
    )
    assert_one_line_error(result)
    assert "--hidden-size" in result.err and not (tmp_path / "g").exists()


def test_compare_data_flags_are_generated_with_help_and_reach_the_config(
    cli, tmp_path: Path
) -> None:
    """--target, --time-col and --train-size are CompareConfig fields: help, config, errors."""
    help_text = cli("compare", "--help").out
    for flag in ("--target", "--time-col", "--train-size"):
        assert len(flag_help(help_text, flag).split()) > 2, flag  # flag, metavar, help
    out = tmp_path / "syn"
    args = ["--length", "6", "--epochs", "1", "--hidden-size", "3", "--seeds", "0"]
    result = cli("compare", *args, "--cells", "rnn", "--train-size", "24", "--out", out)
    assert result.code == 0, result.err
    config = json.loads((out / "compare.json").read_text())["config"]
    assert config["train_size"] == 24 and config["target"] is None
    months = pd.date_range("2000-01-01", periods=96, freq="MS")
    values = 10 + np.sin(np.arange(96) * 2 * np.pi / 12) + 0.05 * np.arange(96)
    path = tmp_path / "mine.csv"
    frame = pd.DataFrame({"when": months.strftime("%Y-%m-%d"), "v": values, "w": values + 1})
    frame.to_csv(path, index=False)
    options = tmp_path / "c.json"
    options.write_text(json.dumps({"target": "w", "time-col": "when"}))
    out = tmp_path / "file"
    result = cli(
        "compare",
        "--task",
        path,
        *args,
        "--cells",
        "gru",
        "--config",
        options,
        "--target",
        "v",
        "--out",
        out,
    )
    assert result.code == 0, result.err
    config = json.loads((out / "compare.json").read_text())["config"]
    assert (config["target"], config["time_col"]) == ("v", "when")  # the flag wins
    result = cli("compare", "--train-size", "-1", "--out", tmp_path / "bad")
    assert_one_line_error(result)
    assert "--train-size" in result.err and not (tmp_path / "bad").exists()


def test_compare_on_an_exactly_periodic_series_is_one_line_not_a_traceback(
    cli, tmp_path: Path
) -> None:
    """MASE has no scale when the training part repeats its season exactly."""
    months = pd.date_range("2000-01-01", periods=96, freq="MS")
    values = 10 + np.sin(np.arange(96) * 2 * np.pi / 12)
    path = tmp_path / "periodic.csv"
    pd.DataFrame({"month": months.strftime("%Y-%m-%d"), "y": values}).to_csv(path, index=False)
    args = ["--cells", "rnn", "--seeds", "0", "--hidden-size", "4", "--epochs", "1"]
    result = cli("compare", "--task", path, "--target", "y", "--time-col", "month", *args,
                 "--out", tmp_path / "out")  # fmt: skip
    assert_one_line_error(result)
    assert "MASE is undefined" in result.err
