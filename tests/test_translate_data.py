"""Translation data: normalisation, reading pairs files and zips, the split by source sentence."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from rnnkit.errors import UserError
from rnnkit.translate.data import (
    Pair,
    PairDataset,
    collate,
    count_words,
    detokenize,
    load_pairs,
    prepare_pairs,
    read_pairs,
    split_by_source,
    tokenize,
)
from rnnkit.translate.vocab import Vocabulary


def test_tokenize_folds_case_and_accents_and_splits_punctuation() -> None:
    assert tokenize("Où est-il ?") == ["ou", "est-il", "?"]
    assert tokenize("J'ai ÉTÉ là, hier!") == ["j'", "ai", "ete", "la", ",", "hier", "!"]
    assert tokenize("Ça «marche»\u202f!") == ["ca", "marche", "!"]
    assert tokenize("Cœur") == ["coeur"]
    assert tokenize("   ") == []


def test_detokenize_undoes_the_splitting() -> None:
    assert detokenize(["j'", "ai", "faim", ",", "non", "?"]) == "j'ai faim, non?"
    for text in ("i am here.", "ou est-il?", "c'est la vie!"):
        assert detokenize(tokenize(text)) == text


def test_count_words_ignores_punctuation() -> None:
    assert count_words(["hello", ",", "world", "!"]) == 2


def test_max_words_drops_long_pairs_and_empty_sides() -> None:
    raw = [("Go.", "Va !"), ("one two three four", "un deux trois quatre"), ("!", "Hein ?")]
    pairs = prepare_pairs(raw, max_words=3)
    assert pairs == [Pair(("go", "."), ("va", "!"))]
    assert len(prepare_pairs(raw)) == 2  # no limit: only the punctuation-only pair goes


def _write_zip(path: Path, text: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("_about.txt", "notes, not pairs")
        archive.writestr("fra.txt", text)
    return path


def test_reads_a_file_and_a_zip_alike(tmp_path: Path) -> None:
    text = "Hi.\tSalut !\tCC-BY 2.0 attribution\n\nRun!\tCours !\n"
    plain = tmp_path / "pairs.txt"
    plain.write_text(text, encoding="utf-8")
    archived = _write_zip(tmp_path / "pairs.zip", text)
    assert read_pairs(plain) == read_pairs(archived) == [("Hi.", "Salut !"), ("Run!", "Cours !")]


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "empty"), ("\n\n", "empty"), ("no tab here\n", "line 1"), ("a\t\n", "line 1")],
)
def test_bad_pairs_files_are_user_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        read_pairs(path)


def test_missing_file_and_zip_without_pairs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        read_pairs(tmp_path / "nope.txt")
    path = tmp_path / "empty.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("_about.txt", "only notes")
    with pytest.raises(UserError, match="exactly one"):
        read_pairs(path)
    long_only = tmp_path / "long.txt"
    long_only.write_text("a b c d\te f g h\n", encoding="utf-8")
    with pytest.raises(UserError, match="no usable"):
        load_pairs(long_only, max_words=2)


def test_split_keeps_every_source_sentence_in_one_part() -> None:
    # Tatoeba-like: many sources with several translations each
    pairs = [Pair((f"s{i}",), (f"t{i}", str(k))) for i in range(200) for k in range(1 + i % 4)]
    for seed in range(3):
        split = split_by_source(pairs, 0.1, 0.2, seed)
        parts = [{p.src for p in part} for part in (split.train, split.val, split.test)]
        assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
        assert sorted(split.train + split.val + split.test, key=repr) == sorted(pairs, key=repr)
        assert len(parts[2]) == 40 and len(parts[1]) == 20  # fractions of distinct sources
        for part, sources in zip((split.train, split.val, split.test), parts, strict=True):
            # every translation of a source went with it
            assert len(part) == sum(1 + int(s[0][1:]) % 4 for s in sources)
    a, b = split_by_source(pairs, 0.1, 0.2, 0), split_by_source(pairs, 0.1, 0.2, 0)
    assert a == b


def test_split_refuses_too_few_sources() -> None:
    with pytest.raises(UserError, match="too few"):
        split_by_source([Pair(("a",), ("b",))], 0.1, 0.1)


def test_dataset_and_collate_pad_with_zero() -> None:
    pairs = [Pair(("a", "b", "c"), ("x",)), Pair(("a",), ("y", "z"))]
    src_vocab = Vocabulary.build(p.src for p in pairs)
    tgt_vocab = Vocabulary.build(p.tgt for p in pairs)
    src, lengths, tgt = collate([PairDataset(pairs, src_vocab, tgt_vocab)[i] for i in range(2)])
    assert src.shape == (2, 3) and lengths.tolist() == [3, 1]
    assert src[1, 1:].tolist() == [0, 0]
    sos, eos = tgt_vocab.index("<sos>"), tgt_vocab.index("<eos>")
    assert tgt[0].tolist() == [sos, tgt_vocab.index("x"), eos, 0]
    assert tgt[1].tolist() == [sos, tgt_vocab.index("y"), tgt_vocab.index("z"), eos]
