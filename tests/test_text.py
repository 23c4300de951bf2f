"""The character language model: text reading, streams, the carried state, baselines, CharLM."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from rnnkit.data.io import read_text
from rnnkit.errors import UserError
from rnnkit.models import CELLS, ModelConfig
from rnnkit.text.charlm import CharLM
from rnnkit.text.data import TextStreams, Vocabulary, ngram_bits_per_char, split_text
from rnnkit.text.model import CharLMNet, StatefulLMLoss, detach_state
from rnnkit.training import TrainConfig

CELL_BACKENDS = [(cell, backend) for cell in CELLS for backend in CELLS[cell]]
PERIODIC = "the cat sat on the mat. " * 60  # 1440 characters


def tiny_lm(cell: str = "gru", backend: str = "auto", steps: int = 60, **kw) -> CharLM:
    train = TrainConfig(batch_size=4, lr=2e-2, patience=0, progress=False, log_every=0)
    options = {"hidden_size": 24, "embed_size": 8, "seq_len": 16, "device": "cpu", **kw}
    return CharLM(cell, backend=backend, steps=steps, train=train, **options)


# --- reading and the vocabulary ------------------------------------------------------------


def test_bundled_corpus_is_read_by_name() -> None:
    text = read_text("botchan")
    assert len(text) > 200_000 and "Botchan" in text[:5000].title()


@pytest.mark.parametrize(
    "content,needle",
    [(b"", "empty"), (b"  \n", "empty"), (b"abc\x00def", "binary"), (b"caf\xe9", "UTF-8")],
)
def test_unreadable_text_is_a_user_error(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(content)
    with pytest.raises(UserError, match=needle):
        read_text(path)


def test_vocabulary_round_trip_and_unknown_character() -> None:
    vocab = Vocabulary.from_text("hello world")
    assert vocab.chars == " dehlorw"
    assert vocab.decode(vocab.encode("world hello")) == "world hello"
    with pytest.raises(UserError, match="'z'"):
        vocab.encode("hoze")


def test_split_is_chronological() -> None:
    train, val = split_text("abcdefghij", 0.2)
    assert (train, val) == ("abcdefgh", "ij")


# --- stateful batching ----------------------------------------------------------------------


def test_streams_continue_from_batch_to_batch() -> None:
    ids = torch.arange(1000)  # each id is its own position in the text
    streams = TextStreams(ids, streams=4, seq_len=10)
    for shuffle in (False, True):
        generator = torch.Generator().manual_seed(3)
        batches = list(streams.iter_batches(0, shuffle=shuffle, generator=generator))
        assert len(batches) >= 2
        for x, y in batches:
            assert torch.equal(y, x + 1)  # the target is the next character
        for (x0, y0), (x1, y1) in zip(batches, batches[1:], strict=False):
            # in every stream, batch k+1 starts right where batch k ended
            assert torch.equal(x1[:, 0], x0[:, -1] + 1)
            assert torch.equal(y1[:, 0], y0[:, -1] + 1)
        rows = torch.cat([x for x, _ in batches], dim=1)  # (streams, L) as read
        assert torch.equal(rows, rows[:, :1] + torch.arange(rows.shape[1]))  # contiguous rows
        assert len(set(rows.flatten().tolist())) == rows.numel()  # streams do not overlap


def test_evaluation_pass_scores_every_target_once() -> None:
    ids = torch.arange(103)
    streams = TextStreams(ids, streams=1, seq_len=10)
    targets = torch.cat([y.flatten() for _, y in streams.iter_batches()])
    assert targets.tolist() == list(range(1, 103))


def test_training_passes_start_at_different_offsets() -> None:
    streams = TextStreams(torch.arange(500), streams=2, seq_len=20)
    firsts = {
        int(
            next(streams.iter_batches(0, shuffle=True, generator=torch.Generator().manual_seed(s)))[
                0
            ][0, 0]
        )
        for s in range(8)
    }
    assert len(firsts) > 1 and all(0 <= f < 20 for f in firsts)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_hidden_state_is_carried_and_detached(cell: str) -> None:
    config = ModelConfig(cell=cell, input_size=4, hidden_size=8, output_size=5)
    model = CharLMNet(config)
    batches = list(TextStreams(torch.arange(200) % 5, streams=3, seq_len=7).iter_batches())
    carried = StatefulLMLoss()
    carried(model, batches[0])
    state = carried.state
    assert state is not None
    parts = state if isinstance(state, tuple) else (state,)
    assert len(parts) == (2 if cell == "lstm" else 1)
    assert all(p.grad_fn is None and p.shape == (1, 3, 8) for p in parts)
    with_state = carried(model, batches[1])
    with_zeros = StatefulLMLoss()(model, batches[1])
    assert not math.isclose(with_state.item(), with_zeros.item(), rel_tol=1e-6)
    with_state.backward()  # the graph stops at the carried state: backward runs, no error
    carried.start_epoch()
    assert carried.state is None


def test_detach_state_handles_both_shapes() -> None:
    h = torch.ones(1, 2, 3, requires_grad=True) * 2
    assert detach_state(h).grad_fn is None
    pair = detach_state((h, h * 3))
    assert isinstance(pair, tuple) and all(p.grad_fn is None for p in pair)


def test_loss_state_survives_a_checkpoint_round_trip() -> None:
    model = CharLMNet(ModelConfig(cell="lstm", input_size=4, hidden_size=8, output_size=5))
    loss = StatefulLMLoss()
    loss(model, (torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long)))
    restored = StatefulLMLoss()
    restored.load_state_dict(loss.state_dict())
    assert isinstance(restored.state, tuple) and loss.state is not None
    assert all(torch.equal(a, b) for a, b in zip(restored.state, loss.state, strict=True))


# --- baselines ------------------------------------------------------------------------------


def test_add_one_smoothed_ngram_baselines() -> None:
    vocab = Vocabulary("ab")
    got = ngram_bits_per_char(vocab.encode("abab"), vocab.encode("ab"), len(vocab))
    # unigram: p(b) = (2 + 1) / (4 + 2); bigram: p(b | a) = (n(a,b) + 1) / (n(a,.) + 2) = 3/4
    assert got["unigram_bpc"] == pytest.approx(1.0)
    assert got["bigram_bpc"] == pytest.approx(-math.log2(0.75))


# --- CharLM ---------------------------------------------------------------------------------


def test_char_lm_learns_a_periodic_text() -> None:
    lm = tiny_lm(steps=120).fit(PERIODIC)
    m = lm.metrics
    assert m["val_bpc"] < m["unigram_bpc"] / 2
    assert m["val_bpc"] < m["bigram_bpc"]
    assert m["val_bpc"] == pytest.approx(lm.evaluate(PERIODIC[-len(PERIODIC) // 10 :]), rel=1e-4)
    assert m["steps"] >= 120


def test_steps_are_counted_even_below_one_pass() -> None:
    lm = tiny_lm(steps=3).fit(PERIODIC)
    assert lm.metrics["steps"] == 3 and lm.metrics["epochs"] == 1


def test_text_shorter_than_one_batch_is_a_user_error() -> None:
    with pytest.raises(UserError, match="fewer than one batch"):
        tiny_lm().fit("short text")


def test_sampling() -> None:
    lm = tiny_lm(steps=20).fit(PERIODIC)
    text = lm.sample("the ", length=50, seed=1)
    assert text.startswith("the ") and len(text) == 54
    assert set(text) <= set(PERIODIC)
    assert lm.sample("the ", 30, seed=1) == lm.sample("the ", 30, seed=1)
    greedy = {lm.sample("the ", 30, top_k=1, seed=s) for s in range(3)}
    assert len(greedy) == 1  # top-k 1 leaves no choice
    assert len(lm.sample(length=10)) == 11  # first character drawn from the frequencies
    with pytest.raises(UserError, match="'Z'"):
        lm.sample("Zebra")


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    lm = tiny_lm(cell="lstm", steps=10).fit(PERIODIC)
    lm.save(tmp_path / "run")
    again = CharLM.load(tmp_path / "run", device="cpu")
    assert again.vocab is not None and lm.vocab is not None
    assert again.vocab.chars == lm.vocab.chars
    assert again.sample("the", 40, seed=2) == lm.sample("the", 40, seed=2)
    assert again.evaluate(PERIODIC[:300]) == pytest.approx(lm.evaluate(PERIODIC[:300]))


@pytest.mark.parametrize("cell,backend", CELL_BACKENDS)
def test_every_cell_and_backend_trains_and_samples(cell: str, backend: str) -> None:
    lm = tiny_lm(cell, backend, steps=2, hidden_size=8).fit(PERIODIC[:400])
    assert math.isfinite(lm.metrics["val_bpc"])
    assert len(lm.sample("the", 5)) == 8
