"""Every malformed input of the reader's corpus, through the command line: one line, exit 2.

The corpus (tests/test_io.py) holds 60+ malformed files; here each goes through `rnnkit train`
as a user would give it, and must produce exactly one line on stderr, exit code 2, no traceback,
no output folder, and the user's file unchanged. The files the reader itself refuses (before any
series check) also go through every other command that reads a table (`predict --data`,
`classify train`, `classify predict`); `lm train` gets the malformed text files.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import pytest

from rnnkit.data.io import load_table
from rnnkit.errors import UserError
from tests.conftest import assert_one_line_error
from tests.test_io import CORPUS, LONG_CONTENT, PREPARE, Bad, _time_col, _write


def _refused_by_reader(bad: Bad) -> bool:
    """Whether the one reader (data/io) refuses the file itself, whatever the command."""
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), bad.name, LONG_CONTENT.get(bad.name, bad.content))
        try:
            load_table(path)
        except UserError:
            return True
    return False


UNREADABLE = [bad for bad in CORPUS if _refused_by_reader(bad)]
BAD_TEXT = {
    "empty.txt": b"",
    "blank.txt": b"  \n\n",
    "binary.txt": b"abc\x00def" * 100,
    "latin1.txt": "caf\u00e9 ".encode("latin-1") * 100,
    "broken.txt.gz": b"\x1f\x8b\x08\x00 not gzip at all",
}


def flags(options: dict[str, Any]) -> list[str]:
    """`rnnkit train` flags for the reader options a corpus entry needs."""
    out: list[str] = []
    for key, value in options.items():
        if key == "min_length":  # the command derives it from window + horizon
            out += ["--window", str(value - 1), "--horizon", "1"]
        elif key == "covariates":
            out += ["--covariates", ",".join(value)]
        else:
            out += ["--" + key.replace("_", "-"), str(value)]
    return out


@pytest.mark.parametrize("bad", CORPUS, ids=[bad.name for bad in CORPUS])
def test_train_on_malformed_file_is_one_line_exit_2(cli, tmp_path: Path, bad: Bad) -> None:
    path = _write(tmp_path, bad.name, LONG_CONTENT.get(bad.name, bad.content))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    options = PREPARE.get(bad.name, {"target": "value", "time_col": _time_col(path)})
    out = tmp_path / "run"
    result = cli("train", "--data", path, *flags(options), "--epochs", "1", "--out", out)
    assert_one_line_error(result)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not out.exists()


def test_predict_out_is_never_overwritten(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = cli(
        "train",
        "--data",
        "airpassengers",
        "--epochs",
        "1",
        "--hidden-size",
        "4",
        "--out",
        run,
        "--no-progress",
    )
    assert result.code == 0, result.err
    mine = tmp_path / "mine.csv"
    mine.write_text("precious\n")
    result = cli("predict", run, "--steps", "2", "--out", mine)
    assert_one_line_error(result)
    assert mine.read_text() == "precious\n"


def test_the_reader_refuses_a_good_part_of_the_corpus() -> None:
    names = {bad.name for bad in UNREADABLE}
    assert {"empty.csv", "header_only.csv", "bom_only.csv"} <= names
    assert len(names) >= 15


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny forecasting run and a tiny classifier run, for the commands that read one."""
    from rnnkit.cli import main

    base = tmp_path_factory.mktemp("runs")
    forecast = ["train", "--data", "airpassengers", "--epochs", "1", "--hidden-size", "4"]
    assert main([*forecast, "--out", str(base / "f"), "--no-progress"]) == 0
    classify = ["classify", "train", "--data", "shapes", "--epochs", "1", "--hidden-size", "4"]
    assert main([*classify, "--out", str(base / "c"), "--no-progress"]) == 0
    return {"forecast": base / "f", "classify": base / "c"}


@pytest.mark.parametrize("bad", UNREADABLE, ids=[bad.name for bad in UNREADABLE])
def test_every_table_command_refuses_an_unreadable_file(
    cli, tmp_path: Path, bad: Bad, trained_runs: dict[str, Path]
) -> None:
    path = _write(tmp_path, bad.name, LONG_CONTENT.get(bad.name, bad.content))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    out = tmp_path / "out"
    commands = [
        [
            "predict",
            trained_runs["forecast"],
            "--data",
            path,
            "--steps",
            "2",
            "--out",
            out / "p.csv",
        ],
        ["classify", "train", "--data", path, "--label", "value", "--out", out],
        ["classify", "predict", trained_runs["classify"], "--data", path],
    ]
    for command in commands:
        assert_one_line_error(cli(*command))
        assert not out.exists()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("name", sorted(BAD_TEXT))
def test_lm_train_refuses_a_malformed_text_file(cli, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_TEXT[name])
    out = tmp_path / "run"
    assert_one_line_error(cli("lm", "train", "--data", path, "--steps", "1", "--out", out))
    assert not out.exists()
