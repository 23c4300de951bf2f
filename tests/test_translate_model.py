"""Translation model pieces: vocabulary, attention, greedy and beam search."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from rnnkit.errors import UserError
from rnnkit.translate.model import Attention, Seq2Seq, Seq2SeqConfig, build_model
from rnnkit.translate.search import Hypothesis, ModelDecoder, beam_search, greedy
from rnnkit.translate.translator import TranslationLoss
from rnnkit.translate.vocab import Vocabulary


def test_vocabulary_round_trip_and_unknown_words(tmp_path: Path) -> None:
    sentences = [["le", "chat", "dort"], ["le", "chien"], ["le", "chat"]]
    vocab = Vocabulary.build(sentences, min_count=2, language="fr")
    assert vocab.words[:4] == ["<pad>", "<sos>", "<eos>", "<unk>"]
    assert vocab.words[4:] == ["le", "chat"]  # by count; 'dort', 'chien' are below min_count
    vocab.save(tmp_path / "v.json")
    again = Vocabulary.load(tmp_path / "v.json")
    assert again.words == vocab.words and again.language == "fr"
    ids = again.encode(["le", "chien", "chat"])
    assert ids == [vocab.index("le"), vocab.index("<unk>"), vocab.index("chat")]
    assert again.unknown(["le", "chien", "oiseau", "chien"]) == ["chien", "oiseau"]
    assert again.decode([1, *ids, 2, 4]) == ["le", "<unk>", "chat"]  # stops at <eos>


def test_a_foreign_vocabulary_file_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "v.json").write_text('{"words": ["a"]}')
    with pytest.raises(UserError, match="not an rnnkit word vocabulary"):
        Vocabulary.load(tmp_path / "v.json")


@pytest.mark.parametrize("kind", ["additive", "multiplicative"])
def test_attention_weights_sum_to_one_and_skip_padding(kind: str) -> None:
    attention = Attention(kind, 6, 10)
    keys = attention.keys(torch.randn(3, 5, 10))
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    weights = attention(torch.randn(3, 4, 6), keys, mask)
    assert weights.shape == (3, 4, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4))
    assert torch.all(weights[~mask.unsqueeze(1).expand_as(weights)] == 0)
    assert torch.all(weights[2, :, 0] == 1)  # a one-word source gets all the weight


def _model(cell: str = "gru", attention: str = "additive", backend: str = "auto") -> Seq2Seq:
    config = Seq2SeqConfig(
        src_vocab_size=12, tgt_vocab_size=9, cell=cell, backend=backend, embed_size=8,
        hidden_size=10, dropout=0.0, attention=attention,
    )  # fmt: skip
    return Seq2Seq(config).eval()


def _transformer() -> torch.nn.Module:
    config = Seq2SeqConfig(
        src_vocab_size=12, tgt_vocab_size=9, hidden_size=8, dropout=0.0, arch="transformer",
        heads=2, feedforward=16,
    )  # fmt: skip
    return build_model(config).eval()


def test_transformer_baseline_decodes_step_by_step_as_in_one_pass() -> None:
    model = _transformer()
    src, lengths = torch.tensor([[4, 5, 6], [7, 8, 0]]), torch.tensor([3, 2])
    memory, state = model.encode(src, lengths)
    prev = torch.tensor([[1, 3, 4], [1, 5, 6]])
    whole, _, _ = model.decode(prev, state, memory)
    steps = []
    for t in range(3):
        log_probs, state, _ = model.decode(prev[:, t : t + 1], state, memory)
        steps.append(log_probs)
    torch.testing.assert_close(torch.cat(steps, dim=1), whole)
    torch.testing.assert_close(whole.exp().sum(-1), torch.ones(2, 3))


@pytest.mark.parametrize(
    ("cell", "attention", "backend"),
    [
        ("gru", "additive", "auto"),
        ("lstm", "multiplicative", "auto"),
        ("rnn", "additive", "rnnkit"),
    ],
)
def test_padding_does_not_change_the_encoding(cell: str, attention: str, backend: str) -> None:
    model = _model(cell, attention, backend)
    src = torch.tensor([[4, 5, 6, 0, 0], [7, 8, 9, 10, 11]])
    memory, state = model.encode(src, torch.tensor([3, 5]))
    alone, alone_state = model.encode(src[:1, :3], torch.tensor([3]))
    torch.testing.assert_close(memory.values[0, :3], alone.values[0])
    assert torch.all(memory.values[0, 3:] == 0)
    h, h_alone = (state[0], alone_state[0]) if isinstance(state, tuple) else (state, alone_state)
    torch.testing.assert_close(h[:, 0], h_alone[:, 0])
    log_probs, _, weights = model.decode(torch.tensor([[1, 3], [1, 4]]), state, memory)
    assert log_probs.shape == (2, 2, 9) and weights.shape == (2, 2, 5)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 2))
    assert torch.all(weights[0, :, 3:] == 0)


def test_teacher_forcing_schedule_and_mixed_inputs() -> None:
    loss = TranslationLoss(total_steps=10, teacher_forcing=(1.0, 0.5))
    ratios = []
    for step in range(11):
        loss.steps = step
        ratios.append(loss.ratio())
    assert ratios[:6] == [1.0] * 6 and ratios[-1] == 0.5  # held, then linear decay
    assert all(a >= b for a, b in zip(ratios, ratios[1:], strict=False))
    model = _model().train()
    prev = torch.tensor([[1, 4, 5, 6, 0], [1, 7, 0, 0, 0]])
    mixed = TranslationLoss._mixed_inputs(model, torch.tensor([[4, 5], [6, 0]]),
                                          torch.tensor([2, 1]), prev, 0.0)  # fmt: skip
    assert torch.all(mixed[:, 0] == 1) and torch.all(mixed[prev == 0] == 0)  # <sos>, padding kept
    assert torch.equal(
        TranslationLoss._mixed_inputs(model, torch.tensor([[4, 5], [6, 0]]), torch.tensor([2, 1]),
                                      prev, 1.0), prev)  # fmt: skip


@pytest.mark.parametrize("arch", ["rnn", "transformer"])
def test_beam_of_one_is_greedy(arch: str) -> None:
    torch.manual_seed(3)
    model = _model("lstm") if arch == "rnn" else _transformer()
    src = torch.randint(4, 12, (6, 4))
    lengths = torch.tensor([4, 3, 2, 4, 1, 3])
    memory, state = model.encode(src, lengths)
    decoder = ModelDecoder(model, memory)
    greedy_hyps = greedy(decoder, (state, memory), 6, sos=1, eos=2, max_len=7)
    for i, expected in enumerate(greedy_hyps):
        one = decoder.reorder((state, memory), torch.tensor([i]))
        found = beam_search(decoder, one, sos=1, eos=2, max_len=7, beam=1, alpha=1.0)
        assert found.tokens == expected.tokens
        assert math.isclose(found.logprob, expected.logprob, rel_tol=1e-5, abs_tol=1e-5)


class TableDecoder:
    """A hand-made language model: next-word probabilities by prefix (ids: 1 sos, 2 eos)."""

    # start: eos 0.5, word 3 0.5; after 3: word 4 0.9; after 3 4: eos 0.9; the rest is spread
    TABLE = {(): {2: 0.5, 3: 0.5}, (3,): {4: 0.9}, (3, 4): {2: 0.9}}
    VOCAB = 6

    def step(self, tokens: torch.Tensor, state: list[tuple[int, ...]]):
        # the state is the words so far; the new one is the last input word (<sos>: none)
        state = [p + (int(t),) if int(t) != 1 else p for p, t in zip(state, tokens, strict=True)]
        rows = []
        for prefix in state:
            probs = torch.full((self.VOCAB,), 1e-4)
            for word, p in self.TABLE.get(prefix, {2: 0.9}).items():
                probs[word] = p
            rows.append(probs.log())
        return torch.stack(rows), state, None

    def reorder(self, state: list[tuple[int, ...]], index: torch.Tensor):
        return [state[i] for i in index.tolist()]


def test_length_normalisation_changes_the_choice() -> None:
    # Raw log p: "<eos>" = log .5 = -0.69 beats "3 4 <eos>" = log(.5 * .9 * .9) = -0.90.
    # Per word (alpha 1): -0.69 / 1 loses to -0.90 / 3 = -0.30.
    decoder = TableDecoder()
    raw = beam_search(decoder, [()], sos=1, eos=2, max_len=5, beam=3, alpha=0.0)
    normalised = beam_search(decoder, [()], sos=1, eos=2, max_len=5, beam=3, alpha=1.0)
    assert raw.tokens == [2]
    assert normalised.tokens == [3, 4, 2]
    assert Hypothesis([3, 4, 2], -0.9).score(1.0) == pytest.approx(-0.3)


@pytest.mark.parametrize("arch", ["rnn", "transformer"])
def test_adaptive_softmax_trains_under_bf16_autocast(arch: str) -> None:
    config = Seq2SeqConfig(
        src_vocab_size=30, tgt_vocab_size=40, hidden_size=16, embed_size=8, arch=arch, heads=2,
        feedforward=16, adaptive_cutoffs=[10, 20],
    )  # fmt: skip
    model = build_model(config)
    src, tgt = torch.randint(4, 30, (3, 5)), torch.randint(4, 40, (3, 6))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(src, torch.tensor([5, 3, 2]), tgt[:, :-1], tgt[:, 1:])
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert all(p.grad is not None for p in model.out.parameters())
