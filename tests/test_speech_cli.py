"""`rnnkit speech train` / `transcribe` end to end on synthetic digits, and their bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.speech.features import read_wav
from rnnkit.speech.recognizer import DigitRecognizer
from tests.conftest import assert_one_line_error
from tests.speech_synth import digit_sound, make_recordings, write_wav

pytest.importorskip("jiwer")  # the speech extra (part of dev)

# --no-augment: a synthetic digit *is* its pitch, which speed perturbation would shift into the
# next digit's
TINY = ["--hidden-size", "24", "--layers", "1", "--batch-size", "8", "--lr", "0.01", "--no-augment"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recordings(
        tmp_path_factory.mktemp("fsdd") / "recordings", speakers=2, repetitions=13
    )


@pytest.fixture(scope="module")
def trained_run(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("speech") / "run"
    args = [
        "speech",
        "train",
        "--data",
        folder,
        "--task",
        "isolated",
        *TINY,
        "--epochs",
        "30",
        "--patience",
        "0",
        "--no-progress",
        "--out",
        out,
    ]
    assert main([str(a) for a in args]) == 0
    return out


def test_training_learns_the_synthetic_digits(trained_run: Path) -> None:
    metrics = json.loads((trained_run / "metrics.json").read_text())
    # 10 classes: chance is 10%; the tones are easy, so the model must do far better
    assert metrics["test"]["model"]["accuracy"] >= 0.7
    assert metrics["test"]["model"]["error_rate"] >= 0 <= 1
    assert metrics["train_seconds"] > 0 and "streaming" not in metrics
    for name in ("model.safetensors", "model.json", "config.json", "ctc_posteriors.png"):
        assert (trained_run / name).is_file()


def test_isolated_runs_keep_the_mean_of_the_last_ten_epochs(trained_run: Path) -> None:
    from safetensors.torch import load_file

    metrics = json.loads((trained_run / "metrics.json").read_text())
    # the epoch with the best validation loss, scored beside the average for comparison
    assert 0 <= metrics["test"]["best_epoch_weights"]["accuracy"] <= 1
    config = json.loads((trained_run / "config.json").read_text())
    assert config["recognizer"]["average_epochs"] == 10
    average, model = (
        load_file(trained_run / f) for f in ("average.safetensors", "model.safetensors")
    )
    assert average.keys() == model.keys()
    for name, value in model.items():
        assert torch.equal(value, average[name]), name


def test_transcribe_prints_the_digits(
    trained_run: Path, tmp_path: Path, cli: Callable[..., object]
) -> None:
    rng = np.random.default_rng(123)
    gap = np.zeros(400)
    sound = np.concatenate([gap, digit_sound(7, 0, rng), gap, digit_sound(2, 1, rng), gap])
    wav = write_wav(tmp_path / "72.wav", sound)
    recognizer = DigitRecognizer.load(trained_run)
    result = cli("speech", "transcribe", trained_run, wav)
    assert result.code == 0 and result.err == ""
    printed = result.out.strip()
    assert all(token in "0123456789" for token in printed.split())
    assert printed == " ".join(map(str, recognizer.transcribe(read_wav(wav))))


def test_streaming_run_reports_its_speed(
    folder: Path, tmp_path: Path, cli: Callable[..., object]
) -> None:
    out = tmp_path / "stream"
    result = cli(
        "speech",
        "train",
        "--data",
        folder,
        "--task",
        "connected",
        "--stream",
        *TINY,
        "--epochs",
        "1",
        "--train-utterances",
        "16",
        "--test-utterances",
        "8",
        "--no-progress",
        "--out",
        out,
    )
    assert result.code == 0, result.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["bidirectional"] is False
    assert metrics["test"]["model"]["error_rate"] >= 0
    assert metrics["streaming"]["rtf"] > 0 and metrics["streaming"]["error_rate"] >= 0
    wav = write_wav(tmp_path / "one.wav", digit_sound(3, 0, np.random.default_rng(0)))
    offline = cli("speech", "transcribe", out, wav)
    streamed = cli("speech", "transcribe", out, wav, "--stream", "--chunk-ms", "30")
    assert offline.code == streamed.code == 0 and offline.out == streamed.out


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--data", "{missing}"],
        ["train", "--data", "{folder}", "--cell", "gruu"],
        ["train", "--data", "{folder}", "--split", "speaker:nobody"],
        ["train", "--data", "{folder}", "--task", "sentences"],
        ["transcribe", "{missing}", "{wav}"],
        ["transcribe", "{run}", "{notwav}"],
        ["transcribe", "{run}", "{wav16k}"],
        ["transcribe", "{bidir}", "{wav}", "--stream"],
        ["transcribe", "{run}", "{tiny}"],
    ],
)
def test_bad_input_is_one_line_exit_2(
    args: list[str],
    folder: Path,
    trained_run: Path,
    tmp_path: Path,
    cli: Callable[..., object],
) -> None:
    notwav = tmp_path / "notes.wav"
    notwav.write_text("hello")
    names = {
        "missing": tmp_path / "missing",
        "folder": folder,
        "run": trained_run,
        "bidir": trained_run,
        "notwav": notwav,
        "wav": write_wav(tmp_path / "ok.wav", np.zeros(4000)),
        "wav16k": write_wav(tmp_path / "cd.wav", np.zeros(4000), rate=16000),
        "tiny": write_wav(tmp_path / "tiny.wav", np.zeros(100)),  # 12 ms: not one step
    }
    filled = [a.format(**names) for a in args]
    assert_one_line_error(
        cli("speech", *filled, "--out", tmp_path / "o")
        if filled[0] == "train"
        else cli("speech", *filled)
    )


def test_resume_continues_a_run_and_refuses_other_settings(
    folder: Path, tmp_path: Path, cli: Callable[..., object]
) -> None:
    out = tmp_path / "run"
    args = ["speech", "train", "--data", folder, *TINY, "--epochs", "2", "--no-progress"]
    args += ["--checkpoint-every", "3", "--device", "cpu", "--out", out]
    assert cli(*args).code == 0 and (out / "checkpoint.safetensors").is_file()
    assert cli(*args, "--resume").code == 0
    # resumed after its last epoch, the run still keeps its saved weight average
    from safetensors.torch import load_file

    average, model = (load_file(out / f) for f in ("average.safetensors", "model.safetensors"))
    assert all(torch.equal(v, average[k]) for k, v in model.items())
    refused = cli(*args, "--hidden-size", "20", "--resume")
    assert refused.code == 2 and "differ" in refused.err
