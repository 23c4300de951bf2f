"""`rnnkit lm train` and `rnnkit lm sample` end to end, and their bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnkit.cli import main
from tests.conftest import assert_one_line_error

TEXT = "It was a bright cold day in April, and the clocks were striking thirteen. " * 40
TINY = ["--hidden-size", "8", "--embed-size", "4", "--seq-len", "16", "--batch-size", "4"]


@pytest.fixture(scope="module")
def text_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("text") / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained_run(text_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small run shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("lm") / "run"
    args = ["lm", "train", "--data", text_file, *TINY, "--steps", "5", "--out", out]
    assert main([str(a) for a in args]) == 0
    return out


def test_train_writes_the_run(trained_run: Path) -> None:
    metrics = json.loads((trained_run / "metrics.json").read_text())
    for key in ("val_bpc", "unigram_bpc", "bigram_bpc", "steps", "vocab_size", "train_seconds"):
        assert key in metrics
    assert metrics["steps"] == 5 and metrics["vocab_size"] == len(set(TEXT))
    config = json.loads((trained_run / "config.json").read_text())
    assert config["text"]["seq_len"] == 16 and "torch" in config["versions"]
    names = ("model.safetensors", "model.json", "learning_curves.png", "sample.txt")
    assert all((trained_run / n).stat().st_size > 0 for n in names)
    assert set((trained_run / "sample.txt").read_text()) <= set(TEXT)


def test_sample_prints_text(cli, trained_run: Path) -> None:
    result = cli("lm", "sample", trained_run, "--prompt", "It was", "--length", "30", "--seed", "3")
    assert result.code == 0, result.err
    assert result.out.startswith("It was") and len(result.out.rstrip("\n")) == 36
    again = cli("lm", "sample", trained_run, "--prompt", "It was", "--length", "30", "--seed", "3")
    assert again.out == result.out
    top1 = cli(
        "lm", "sample", trained_run, "--length", "20", "--top-k", "1", "--temperature", "0.5"
    )
    assert top1.code == 0 and len(top1.out.rstrip("\n")) == 21


def test_epochs_instead_of_steps(cli, text_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "e"
    result = cli("lm", "train", "--data", text_file, *TINY, "--epochs", "1", "--out", out)
    assert result.code == 0, result.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["steps"] == (len(TEXT) * 9 // 10 - 16) // 4 // 16


def test_prompt_outside_the_vocabulary(cli, trained_run: Path) -> None:
    result = cli("lm", "sample", trained_run, "--prompt", "It wäs")
    assert_one_line_error(result)
    assert "'ä'" in result.err


def test_sampling_a_foreign_run_is_refused(cli, tmp_path: Path) -> None:
    result = cli("lm", "sample", tmp_path / "nothing")
    assert_one_line_error(result)
    assert "does not exist" in result.err


@pytest.mark.parametrize(
    "content,extra,needle",
    [
        (b"", [], "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", [], "binary"),
        (b"Too short.", [], "fewer than one batch"),
        (TEXT.encode(), ["--steps", "3", "--epochs", "2"], "not both"),
        (TEXT.encode(), ["--cell", "lstn"], "did you mean 'lstm'"),
        (TEXT.encode(), ["--bidirectional"], "left to right"),
        (TEXT.encode(), ["--val-fraction", "0"], "--val-fraction"),
    ],
)
def test_bad_training_input(cli, tmp_path: Path, content: bytes, extra: list, needle: str) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(content)
    result = cli("lm", "train", "--data", path, *TINY, *extra, "--out", tmp_path / "o")
    assert_one_line_error(result)
    assert needle in result.err
    assert not (tmp_path / "o").exists()


def test_unknown_data_name(cli, tmp_path: Path) -> None:
    result = cli("lm", "train", "--data", "botchn", "--out", tmp_path / "o")
    assert_one_line_error(result)
    assert "did you mean 'botchan'" in result.err


def test_existing_run_is_not_overwritten(cli, trained_run: Path, text_file: Path) -> None:
    before = (trained_run / "metrics.json").read_text()
    result = cli("lm", "train", "--data", text_file, *TINY, "--steps", "1", "--out", trained_run)
    assert_one_line_error(result)
    assert (trained_run / "metrics.json").read_text() == before


def test_resume_checks_the_settings_and_continues(cli, text_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ["lm", "train", "--data", text_file, *TINY, "--steps", "4", "--out", out]
    assert cli(*args).code == 0
    assert (out / "checkpoint.safetensors").is_file()
    first = json.loads((out / "metrics.json").read_text())
    changed = cli(*[a if a != "16" else "8" for a in args], "--resume")  # another --seq-len
    assert_one_line_error(changed)
    assert "text settings differ" in changed.err
    resumed = cli(*args, "--resume")  # the run had finished: nothing left to train
    assert resumed.code == 0, resumed.err
    named = cli(*args[:-2], "--resume", out)  # --resume RUN, as for every training command
    assert named.code == 0, named.err
    again = json.loads((out / "metrics.json").read_text())
    assert again["val_bpc"] == pytest.approx(first["val_bpc"])
    fresh = cli(*[a if a != out else tmp_path / "none" for a in args], "--resume")
    assert_one_line_error(fresh)
