"""The acoustic model: shapes, padding independence, the isolated-digit decision, save/load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rnnkit.errors import UserError
from rnnkit.speech.features import FeatureConfig
from rnnkit.speech.model import AcousticConfig, AcousticModel, ctc_loss, isolated_decisions
from rnnkit.speech.recognizer import DigitRecognizer, RecognizerConfig

pytest.importorskip("jiwer")  # the speech extra (part of dev)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_padding_does_not_change_an_utterance(bidirectional: bool) -> None:
    config = AcousticConfig(n_mels=6, hidden_size=5, subsample=3, bidirectional=bidirectional)
    model = AcousticModel(config).eval()
    short, long = torch.randn(1, 10, 6), torch.randn(1, 17, 6)
    alone, steps = model(short, torch.tensor([10]))
    assert alone.shape == (1, 3, 11) and steps.tolist() == [3]  # 10 frames // 3
    batch = torch.cat([torch.nn.functional.pad(short, (0, 0, 0, 7)), long])
    together, steps = model(batch, torch.tensor([10, 17]))
    assert steps.tolist() == [3, 5]
    assert torch.allclose(together[0, :3], alone[0], atol=1e-6)
    assert torch.allclose(together.exp().sum(-1), torch.ones(2, 5), atol=1e-5)


def test_subsample_must_be_positive() -> None:
    with pytest.raises(UserError):
        AcousticModel(AcousticConfig(subsample=0))


def test_unknown_cell_is_a_user_error() -> None:
    with pytest.raises(UserError, match="did you mean 'gru'"):
        AcousticModel(AcousticConfig(cell="gruu"))


def test_ctc_loss_of_a_batch() -> None:
    model = AcousticModel(AcousticConfig(n_mels=4, hidden_size=3, subsample=1))
    x = torch.randn(2, 9, 4)
    labels = torch.tensor([[3, 1], [7, -1]])  # -1 pads the shorter transcript
    loss = ctc_loss(model, (x, torch.tensor([9, 6]), labels, torch.tensor([2, 1])))
    assert loss.ndim == 0 and torch.isfinite(loss) and loss > 0
    loss.backward()
    assert model.head.weight.grad is not None


def test_isolated_decision_picks_the_most_probable_single_digit() -> None:
    # steps: blank, digit 4 (class 5) then blank; a second utterance says 0 held twice
    peak = 0.9
    rest = (1 - peak) / 10

    def row(k: int) -> list[float]:
        return [peak if c == k else rest for c in range(11)]

    rows = torch.tensor([[row(0), row(5), row(0)], [row(1), row(1), row(0)]]).log()
    assert isolated_decisions(rows, torch.tensor([3, 3])).tolist() == [4, 0]


def test_save_and_load_give_the_same_transcriber(tmp_path: Path) -> None:
    config = RecognizerConfig(FeatureConfig(n_mels=8), AcousticConfig(hidden_size=6))
    recognizer = DigitRecognizer(config)
    recognizer.model.eval()
    recognizer.save(tmp_path)
    loaded = DigitRecognizer.load(tmp_path)
    frames = recognizer.features(torch.randn(3000) * 0.1)
    (before,) = recognizer.posteriors([frames])
    (after,) = loaded.posteriors([frames])
    assert torch.equal(before, after)
    assert loaded.config == recognizer.config


def test_loading_something_else_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        DigitRecognizer.load(tmp_path / "missing")
