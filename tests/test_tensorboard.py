"""``--log-dir``: every training command writes TensorBoard scalars, read back from the files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error
from tests.speech_synth import make_recordings
from tests.test_translate_cli import synthetic_pairs

pytest.importorskip("tensorboard")  # the tensorboard extra (part of dev)
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

STEP_TAGS = {"step/loss", "step/lr", "step/grad_norm"}
EPOCH_TAGS = {"epoch/train_loss", "epoch/lr", "epoch/seconds"}
FORECAST = ["--data", "airpassengers", "--hidden-size", "8", "--no-progress", "--threads", "1"]


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in the event files of ``folder``: tag -> [(step, value)]."""
    events = EventAccumulator(str(folder))
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def test_train_logs_every_step_and_epoch_as_its_history_says(cli, tmp_path: Path) -> None:
    out, logs = tmp_path / "run", tmp_path / "logs"
    result = cli("train", *FORECAST, "--epochs", "3", "--test-size", "24", "--out", out,
                 "--log-dir", logs)  # fmt: skip
    assert result.code == 0, result.err
    logged = scalars(logs)
    assert STEP_TAGS | EPOCH_TAGS | {"epoch/val_loss"} <= set(logged)
    history = json.loads((out / "history.json").read_text())["records"]
    assert [s for s, _ in logged["epoch/train_loss"]] == [1, 2, 3]
    for tag, key in (("epoch/train_loss", "train_loss"), ("epoch/val_loss", "val_loss")):
        assert [v for _, v in logged[tag]] == pytest.approx([r[key] for r in history], rel=1e-6)
    steps = [s for s, _ in logged["step/loss"]]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) % 3 == 0  # 3 equal epochs
    assert len(logged["step/lr"]) == len(logged["step/grad_norm"]) == len(steps)


def test_backtest_logs_one_run_per_fold(cli, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = cli("backtest", *FORECAST, "--model", "classic", "--epochs", "2", "--folds", "2",
                 "--out", tmp_path / "bt", "--log-dir", logs)  # fmt: skip
    assert result.code == 0, result.err
    assert sorted(p.name for p in logs.iterdir()) == ["fold-1", "fold-2"]
    for fold in ("fold-1", "fold-2"):
        logged = scalars(logs / fold)
        assert set(logged) >= STEP_TAGS | EPOCH_TAGS
        assert [s for s, _ in logged["epoch/train_loss"]] == [1, 2]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small input per application."""
    folder = tmp_path_factory.mktemp("inputs")
    text = folder / "corpus.txt"
    text.write_text("It was a bright cold day in April. " * 40, encoding="utf-8")
    from tests.test_classify import easy_wide

    table = folder / "wide.csv"
    easy_wide(40).to_csv(table, index=False)
    pairs = folder / "syn-eng.zip"
    with zipfile.ZipFile(pairs, "w") as archive:
        archive.writestr("syn.txt", "".join(f"{s}\t{t}\n" for s, t in synthetic_pairs(200)))
    # official split: repetitions 0-4 test, 5-9 validate, the rest train
    speech = make_recordings(folder / "recordings", speakers=1, repetitions=12)
    return {"text": text, "table": table, "pairs": pairs, "speech": speech}


COMMANDS = {
    "lm": ["lm", "train", "--data", "{text}", "--hidden-size", "8", "--seq-len", "16",
           "--batch-size", "4", "--epochs", "2"],
    "classify": ["classify", "train", "--data", "{table}", "--label", "label", "--hidden-size",
                 "8", "--batch-size", "8", "--epochs", "2"],
    "translate": ["translate", "train", "--data", "{pairs}", "--hidden-size", "16",
                  "--embed-size", "8", "--batch-size", "32", "--epochs", "2", "--patience", "0"],
    "speech": ["speech", "train", "--data", "{speech}", "--hidden-size", "8", "--layers", "1",
               "--batch-size", "8", "--epochs", "2", "--patience", "0", "--no-augment"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_training_command_logs(cli, inputs, tmp_path: Path, name: str) -> None:
    if name == "speech":
        pytest.importorskip("jiwer")  # the speech extra
    args = [a.format(**inputs) for a in COMMANDS[name]]
    logs = tmp_path / "logs"
    result = cli(*args, "--no-progress", "--threads", "1", "--out", tmp_path / "run",
                 "--log-dir", logs)  # fmt: skip
    assert result.code == 0, result.err
    logged = scalars(logs)
    assert set(logged) >= STEP_TAGS | EPOCH_TAGS, sorted(logged)
    assert [s for s, _ in logged["epoch/train_loss"]] == [1, 2]
    steps = [s for s, _ in logged["step/loss"]]
    assert steps == sorted(set(steps)) and len(steps) >= 2


def test_a_log_dir_that_is_a_file_is_refused_before_anything_is_written(
    cli, tmp_path: Path
) -> None:
    mine = tmp_path / "notes.txt"
    mine.write_text("mine")
    out = tmp_path / "run"
    result = cli("train", *FORECAST, "--epochs", "1", "--out", out, "--log-dir", mine)
    assert_one_line_error(result)
    assert "is a file" in result.err and mine.read_text() == "mine" and not out.exists()


def test_without_tensorboard_log_dir_is_one_line(cli, tmp_path: Path, monkeypatch) -> None:
    from rnnkit.training import tensorboard

    monkeypatch.setattr(tensorboard, "available", lambda: False)
    out = tmp_path / "run"
    result = cli("train", *FORECAST, "--epochs", "1", "--out", out, "--log-dir", tmp_path / "l")
    assert_one_line_error(result)
    assert "rnnkit[tensorboard]" in result.err and not out.exists()
