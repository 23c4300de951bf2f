"""Every malformed input of the reader's corpus, through the command line: one line, exit 2.

The corpus (tests/test_io.py) holds 60+ malformed files; here each goes through `rnnkit train`
as a user would give it, and must produce exactly one line on stderr, exit code 2, no traceback,
no output folder, and the user's file unchanged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_one_line_error
from tests.test_io import CORPUS, LONG_CONTENT, PREPARE, Bad, _time_col, _write


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


def test_the_cli_corpus_is_large() -> None:
    assert len(CORPUS) >= 30


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
