"""`rnnkit translate train` / `predict` end to end on a tiny synthetic language, and bad input."""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from rnnkit.translate.data import detokenize, tokenize
from tests.conftest import CliResult, assert_one_line_error

# A made-up language pair: each source word has one target word, and the order is reversed.
LEXICON = {"red": "rouge", "cat": "chat", "sees": "voit", "big": "gros", "dog": "chien", "a": "un"}
TINY = [
    *("--hidden-size", "32", "--embed-size", "16", "--batch-size", "16", "--lr", "1e-2"),
    *("--dropout", "0", "--beam", "3", "--patience", "0", "--threads", "1", "--no-progress"),
]


def synthetic_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    words = sorted(LEXICON)
    sources: set[tuple[str, ...]] = set()
    while len(sources) < n:
        sources.add(tuple(rng.choice(words) for _ in range(rng.randint(2, 5))))
    pairs = []
    for src in sorted(sources):
        tgt = [LEXICON[w] for w in reversed(src)]
        pairs.append((" ".join(src).capitalize() + ".", " ".join(tgt).capitalize() + " !"))
    return pairs


@pytest.fixture(scope="module")
def pairs_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pairs") / "syn-eng.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("syn.txt", "".join(f"{s}\t{t}\n" for s, t in synthetic_pairs(500)))
    return path


@pytest.fixture(scope="module")
def trained_run(pairs_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rnnkit.cli import main

    out = tmp_path_factory.mktemp("translate") / "run"
    args = ["translate", "train", "--data", pairs_zip, *TINY, "--epochs", "12", "--out", out]
    assert main([str(a) for a in args]) == 0
    return out


def test_train_learns_the_synthetic_language(trained_run: Path) -> None:
    metrics = json.loads((trained_run / "metrics.json").read_text())
    model, retrieval = metrics["test"]["model"], metrics["test"]["retrieval"]
    # chance of an exact 2-5 word reversal-and-substitution is tiny; the model must have learnt it
    assert model["exact_match"] >= 0.6, metrics
    assert model["bleu"] > retrieval["bleu"] + 10, metrics
    assert 0 <= model["chrf"] <= 100 and metrics["train_seconds"] > 0
    for name in ("model.safetensors", "model.json", "vocab_src.json", "vocab_tgt.json",
                 "config.json", "attention.png", "history.json"):  # fmt: skip
        assert (trained_run / name).stat().st_size > 0, name
    config = json.loads((trained_run / "config.json").read_text())
    split = config["split"]
    assert split["train"]["sources"] + split["val"]["sources"] + split["test"]["sources"] == 500


def test_predict_text_and_file(
    trained_run: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    result = cli("translate", "predict", trained_run, "A big red cat.")
    assert result.code == 0 and result.err == ""
    translation = result.out.strip()
    assert len(result.out.splitlines()) == 1 and translation
    lines = ["Red dog.", "A cat sees a dog.", "", "Dog sees red cat."]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("translate", "predict", trained_run, "--file", tmp_path / "in.txt")
    assert result.code == 0
    outputs = result.out.splitlines()
    assert len(outputs) == len(lines)  # one output line per input line, the empty one included
    assert outputs[2] == ""
    expected = [detokenize([LEXICON[w] for w in reversed(tokenize(s)[:-1])] + ["!"]) for s in lines]
    correct = sum(o == e for o, e in zip(outputs, expected, strict=True) if e != "!")
    assert correct >= 2, (outputs, expected)
    # the single-sentence and file modes agree
    assert cli("translate", "predict", trained_run, lines[1]).out.splitlines() == [outputs[1]]


def test_unknown_words_are_said_on_one_stderr_line(
    trained_run: Path, cli: Callable[..., CliResult]
) -> None:
    result = cli("translate", "predict", trained_run, "A purple cat zorbles.")
    assert result.code == 0 and len(result.out.splitlines()) == 1
    err = [line for line in result.err.splitlines() if line.strip()]
    assert len(err) == 1 and "purple" in err[0] and "zorbles" in err[0] and "<unk>" in err[0]


@pytest.mark.parametrize("content", ["", "\n", "only one column\n"])
def test_bad_pairs_file_exits_2_with_one_line(
    tmp_path: Path, content: str, cli: Callable[..., CliResult]
) -> None:
    data = tmp_path / "pairs.txt"
    data.write_text(content, encoding="utf-8")
    result = cli("translate", "train", "--data", data, "--out", tmp_path / "run")
    assert_one_line_error(result)
    assert not (tmp_path / "run").exists()  # nothing written for bad input


def test_missing_files_and_bad_names_exit_2(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    result = cli("translate", "train", "--data", tmp_path / "nope.zip", "--out", tmp_path / "r")
    assert_one_line_error(result)
    assert "does not exist" in result.err
    assert_one_line_error(
        cli("translate", "train", "--data", tmp_path / "nope.zip", "--cell", "grue")
    )
    assert_one_line_error(cli("translate", "predict", tmp_path / "no-run", "hello"))
    assert_one_line_error(cli("translate", "predict", tmp_path, "--file", tmp_path / "no.txt"))


def test_transformer_baseline_runs_end_to_end(
    pairs_zip: Path, tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    sizes = ["--hidden-size", "16", "--heads", "2", "--feedforward", "32", "--beam", "2"]
    result = cli(
        "translate", "train", "--data", pairs_zip, *TINY, *sizes, "--arch", "transformer",
        "--epochs", "1", "--eval-limit", "20", "--out", out,
    )  # fmt: skip
    assert result.code == 0, result.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scored"]["sources"] == 20 and 0 <= metrics["test"]["model"]["bleu"] <= 100
    assert not (out / "attention.png").exists()  # nn.Transformer exposes no attention weights
    monkeypatch.setattr("sys.stdin", io.StringIO("Red cat.\nA dog.\n"))
    predicted = cli("translate", "predict", out, "--file", "-")  # lines from stdin
    assert predicted.code == 0 and len(predicted.out.splitlines()) == 2


def test_checkpoints_and_resume_go_through_fit(
    pairs_zip: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    out = tmp_path / "run"
    args = ["translate", "train", "--data", pairs_zip, *TINY, "--epochs", "1", "--out", out]
    first = cli(*args, "--eval-limit", "5", "--checkpoint-every", "3")
    assert first.code == 0, first.err
    assert (out / "checkpoint.safetensors").is_file()
    changed = cli(*args, "--min-count", "3", "--resume")  # the vocabulary would differ
    assert_one_line_error(changed)
    assert "differ" in changed.err
    resumed = cli(*args, "--eval-limit", "5", "--resume", out)  # finished: nothing left to train
    assert resumed.code == 0, resumed.err


def test_a_bad_teacher_forcing_schedule_is_refused(
    pairs_zip: Path, cli: Callable[..., CliResult]
) -> None:
    result = cli("translate", "train", "--data", pairs_zip, "--teacher-forcing", "1,2")
    assert_one_line_error(result)
    assert "START,END" in result.err
