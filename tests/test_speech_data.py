"""Speech data: the FSDD-style folder, its splits, connected-digit utterances, batching."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rnnkit.errors import UserError
from rnnkit.speech.data import (
    AudioCache,
    ConnectedConfig,
    DigitSpeech,
    PerturbConfig,
    build_datasets,
    collate,
    connected_utterances,
    list_recordings,
    perturb,
    render,
    split_recordings,
)
from tests.speech_synth import make_recordings

pytest.importorskip("jiwer")  # the speech extra (part of dev)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recordings(
        tmp_path_factory.mktemp("fsdd") / "recordings", speakers=3, repetitions=11
    )


def test_list_recordings_parses_names(folder: Path) -> None:
    (folder / "README.txt").write_text("not a recording")
    recordings = list_recordings(folder)
    assert len(recordings) == 3 * 10 * 11
    first = next(r for r in recordings if r.path.name == "7_spk2_10.wav")
    assert (first.digit, first.speaker, first.index) == (7, "spk2", 10)


def test_missing_or_empty_folders_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        list_recordings(tmp_path / "absent")
    with pytest.raises(UserError):
        list_recordings(tmp_path)


def test_official_split(folder: Path) -> None:
    parts = split_recordings(list_recordings(folder), "official")
    assert {r.index for r in parts.test} == set(range(5))
    assert {r.index for r in parts.val} == set(range(5, 10))
    assert {r.index for r in parts.train} == {10}


def test_speaker_split_holds_one_speaker_out(folder: Path) -> None:
    parts = split_recordings(list_recordings(folder), "speaker:spk1")
    assert {r.speaker for r in parts.test} == {"spk1"}
    assert {r.speaker for r in parts.train + parts.val} == {"spk0", "spk2"}
    assert {r.index for r in parts.val} == set(range(5))
    with pytest.raises(UserError, match="spk0, spk1, spk2"):
        split_recordings(list_recordings(folder), "speaker:nobody")
    with pytest.raises(UserError):
        split_recordings(list_recordings(folder), "random")


def test_connected_utterances_are_reproducible(folder: Path) -> None:
    recordings = list_recordings(folder)
    config = ConnectedConfig()
    a = connected_utterances(recordings, 20, seed=3, sample_rate=8000, config=config)
    b = connected_utterances(recordings, 20, seed=3, sample_rate=8000, config=config)
    c = connected_utterances(recordings, 20, seed=4, sample_rate=8000, config=config)
    assert a == b and a != c
    assert all(3 <= len(u.parts) <= 7 and len(u.gaps) == len(u.parts) + 1 for u in a)
    assert all(240 <= g <= 1200 for u in a for g in u.gaps)  # 0.03-0.15 s at 8 kHz


def test_render_joins_recordings_with_gaps(folder: Path) -> None:
    recordings = list_recordings(folder)
    (utterance,) = connected_utterances(recordings, 1, seed=0, sample_rate=8000)
    audio = AudioCache(8000)
    samples = render(utterance, audio, dither=0.0)
    assert len(samples) == sum(utterance.gaps) + sum(len(audio(r)) for r in utterance.parts)
    first = audio(utterance.parts[0])
    start = utterance.gaps[0]
    assert torch.equal(samples[start : start + len(first)], first)
    assert torch.equal(render(utterance, audio, 1e-3), render(utterance, audio, 1e-3))


def test_datasets_and_collate(folder: Path) -> None:
    def features(samples: torch.Tensor) -> torch.Tensor:
        return samples[: len(samples) // 80 * 80].reshape(-1, 80)[:, :4]

    train, val, test = build_datasets(
        folder, "connected", "official", features, 8000, train_utterances=6, eval_utterances=4
    )
    assert (len(train), len(val), len(test)) == (6, 4, 4)
    x, frames, labels, counts = collate([train[0], train[1]])
    assert x.shape[0] == 2 and x.shape[2] == 4 and int(frames.max()) == x.shape[1]
    assert labels.tolist()[0][: int(counts[0])] == train.labels(0)
    assert (labels[0, int(counts[0]) :] == -1).all()
    isolated = build_datasets(folder, "isolated", "official", features, 8000)[2]
    assert isinstance(isolated, DigitSpeech) and len(isolated) == 3 * 10 * 5
    assert isolated[0][1].tolist() == [isolated.items[0].digit]
    with pytest.raises(UserError):
        build_datasets(folder, "continuous", "official", features, 8000)


def test_perturbation_changes_training_audio_only(folder: Path) -> None:
    slow_loud = PerturbConfig(speed=0.0, gain_db=0.0)
    samples = torch.linspace(-0.5, 0.5, 1000)
    assert torch.equal(perturb(samples, slow_loud), samples)  # nothing to draw: unchanged
    config = PerturbConfig(speed=0.2, gain_db=6.0)
    for _ in range(5):
        out = perturb(samples, config)
        assert 1000 / 1.2 - 1 <= len(out) <= 1000 / 0.8 + 1
        level = out.abs().max() / samples.abs().max()
        assert 10 ** (-6 / 20) - 1e-3 <= float(level) <= 10 ** (6 / 20) + 1e-3

    def features(samples: torch.Tensor) -> torch.Tensor:
        return samples[: len(samples) // 80 * 80].reshape(-1, 80)

    train, val, _ = build_datasets(
        folder, "isolated", "official", features, 8000, perturbation=config
    )
    assert not torch.equal(train[0][0], train[0][0])  # a new variant on every access
    assert train[0][1].tolist() == [train.items[0].digit]
    assert torch.equal(val[0][0], val[0][0])  # evaluation data stays fixed
