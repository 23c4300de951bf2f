"""`rnnkit classify train` and `rnnkit classify predict` end to end, and their bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import assert_one_line_error
from tests.test_classify import easy_wide, wide_to_long

TINY = ["--hidden-size", "8", "--epochs", "3", "--batch-size", "8", "--no-progress"]


@pytest.fixture
def wide_csv(tmp_path: Path) -> Path:
    path = tmp_path / "wide.csv"
    easy_wide(40).to_csv(path, index=False)  # NaN padding written as empty cells
    return path


@pytest.fixture
def trained_run(cli, wide_csv: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    result = cli("classify", "train", "--data", wide_csv, "--label", "label", *TINY, "--out", out)
    assert result.code == 0, result.err
    return out


def test_train_writes_the_run(trained_run: Path) -> None:
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["classes"] == ["down", "up"] and metrics["n_test"] == 8
    confusion = np.array(metrics["confusion_matrix"])  # (true, predicted)
    assert confusion.sum() == 8
    table = pd.read_csv(trained_run / "test_predictions.csv")
    right = (table["label"] == table["true_label"]).to_numpy()
    assert (
        metrics["accuracy"] == pytest.approx(right.mean()) == pytest.approx(np.trace(confusion) / 8)
    )
    per_class = [2 * c[i, i] / (c[i].sum() + c[:, i].sum()) for c in [confusion] for i in (0, 1)]
    assert metrics["macro_f1"] == pytest.approx(np.mean(np.nan_to_num(per_class)))
    truth = table["true_label"]
    assert metrics["majority_accuracy"] in {(truth == c).mean() for c in ("down", "up")}
    for name in ("confusion_matrix.png", "learning_curves.png", "model.safetensors"):
        assert (trained_run / name).stat().st_size > 0
    assert len(pd.read_csv(trained_run / "test_predictions.csv")) == 8


def test_predict_to_stdout_and_file(cli, trained_run: Path, wide_csv: Path, tmp_path: Path) -> None:
    result = cli("classify", "predict", trained_run, "--data", wide_csv)
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert lines[0] == "row,label,p_down,p_up" and len(lines) == 41
    out = tmp_path / "pred.csv"
    assert cli("classify", "predict", trained_run, "--data", wide_csv, "--out", out).code == 0
    table = pd.read_csv(out)
    assert table["row"].tolist() == list(range(1, 41))
    refused = cli("classify", "predict", trained_run, "--data", wide_csv, "--out", out)
    assert_one_line_error(refused)
    assert "--overwrite" in refused.err
    forced = ["--out", out, "--overwrite"]
    assert cli("classify", "predict", trained_run, "--data", wide_csv, *forced).code == 0


def test_long_format_end_to_end(cli, tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    wide_to_long(easy_wide(30)).to_csv(path, index=False)
    spec = ["--format", "long", "--id-col", "id", "--time-col", "time", "--features", "x,x2"]
    out = tmp_path / "run"
    result = cli(
        "classify", "train", "--data", path, *spec, *TINY, "--test-size", "6", "--out", out
    )
    assert result.code == 0, result.err
    assert json.loads((out / "metrics.json").read_text())["n_test"] == 6
    predicted = cli("classify", "predict", out, "--data", path)
    assert predicted.code == 0, predicted.err
    assert predicted.out.splitlines()[0] == "id,label,p_down,p_up"


def test_bundled_shapes_by_name(cli, tmp_path: Path) -> None:
    out = tmp_path / "shapes"
    args = ["--data", "shapes", "--hidden-size", "4", "--epochs", "1", "--batch-size", "64"]
    result = cli("classify", "train", *args, "--out", out)
    assert result.code == 0, result.err
    assert len(json.loads((out / "metrics.json").read_text())["classes"]) == 4
    assert "1-nearest neighbour" in result.out


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "csv,extra,needle",
    [
        ("label,t0,t1\na,1,2\nb,3,4\n", ["--label", "lable"], "did you mean 'label'"),
        ("label,t0,t1\na,1,2\na,3,4\n", [], "only one class"),
        ("label,t0,t1\na,1,2\nb,3,4,5,6\n", [], "line 3 does not have the 3 fields"),
        ("label,t0,t1\na,1,2\nb,x,4\n", [], "'x' is not a number"),
        ("label,t0,t1\na,1,2\nb,,4\n", [], "empty cells only at its end"),
        ("label,t0,t1\na,1,2\nb,3,4\n", ["--format", "tall"], "unknown format 'tall'"),
        ("id,x,label\n1,1,a\n1,2,b\n2,3,b\n", ["--format", "long", "--id-col", "id"], "label"),
        ("", [], "empty"),
    ],
)
def test_bad_training_input(cli, tmp_path: Path, csv: str, extra: list, needle: str) -> None:
    path = write(tmp_path, csv)
    result = cli("classify", "train", "--data", path, *TINY, *extra, "--out", tmp_path / "o")
    assert_one_line_error(result)
    assert needle in result.err
    assert not (tmp_path / "o").exists()


def test_predict_with_a_language_model_run_is_refused(cli, tmp_path: Path, wide_csv) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("abcdefgh " * 100)
    lm = tmp_path / "lm"
    tiny = ["--hidden-size", "4", "--seq-len", "8", "--batch-size", "2", "--steps", "1"]
    assert cli("lm", "train", "--data", corpus, *tiny, "--out", lm).code == 0
    result = cli("classify", "predict", lm, "--data", wide_csv)
    assert_one_line_error(result)
    assert "'char_lm'" in result.err


def test_resume_checks_the_settings(cli, wide_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ["classify", "train", "--data", wide_csv, *TINY, "--out", out]
    assert cli(*args).code == 0
    assert cli(*args, "--resume").code == 0  # finished: evaluates and writes again
    changed = cli(*args, "--bidirectional", "--resume")
    assert_one_line_error(changed)
    assert "model settings differ" in changed.err


def test_classify_reads_what_train_reads_bom_and_semicolons(cli, tmp_path: Path) -> None:
    """The one reader serves every command: a UTF-8 BOM and ';' separators work here too."""
    path = tmp_path / "semi.csv"
    frame = easy_wide(30)
    text = frame.to_csv(index=False, sep=";")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    out = tmp_path / "run"
    result = cli("classify", "train", "--data", path, *TINY, "--test-size", "6", "--out", out)
    assert result.code == 0, result.err
    assert json.loads((out / "metrics.json").read_text())["n_test"] == 6
