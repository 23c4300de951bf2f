"""A word vocabulary: ids for the words seen at least ``min_count`` times, and four specials.

Ids 0-3 are ``<pad> <sos> <eos> <unk>``; the words follow by decreasing count (ties in
alphabetical order), so a vocabulary built twice from the same data is the same. Saved as JSON
beside the model; an unknown word encodes as ``<unk>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rnnkit.errors import UserError
from rnnkit.runs import read_json, write_json

PAD, SOS, EOS, UNK = "<pad>", "<sos>", "<eos>", "<unk>"
FORMAT = "rnnkit-word-vocabulary"
FORMAT_VERSION = 1


class Vocabulary:
    SPECIALS = (PAD, SOS, EOS, UNK)

    def __init__(self, words: Sequence[str], language: str = "") -> None:
        words = list(words)
        if words[: len(self.SPECIALS)] != list(self.SPECIALS):
            words = list(self.SPECIALS) + [w for w in words if w not in self.SPECIALS]
        if len(set(words)) != len(words):
            raise ValueError("a vocabulary needs distinct words")
        self.words = words
        self.language = language
        self._ids = {w: i for i, w in enumerate(words)}

    @classmethod
    def build(
        cls, sentences: Iterable[Sequence[str]], min_count: int = 1, language: str = ""
    ) -> Vocabulary:
        """The words that occur at least ``min_count`` times in ``sentences``."""
        counts = Counter(w for sentence in sentences for w in sentence)
        kept = sorted(
            (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls(kept, language)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self._ids

    def index(self, word: str) -> int:
        return self._ids.get(word, self._ids[UNK])

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens``; a word outside the vocabulary is ``<unk>``."""
        unk = self._ids[UNK]
        return [self._ids.get(t, unk) for t in tokens]

    def unknown(self, tokens: Sequence[str]) -> list[str]:
        """The tokens that would encode as ``<unk>``, each once, in order."""
        return list(dict.fromkeys(t for t in tokens if t not in self._ids))

    def decode(self, ids: Iterable[int], *, strip: bool = True) -> list[str]:
        """Words of ``ids``; with ``strip``, stop at ``<eos>`` and drop ``<pad>``/``<sos>``."""
        words = []
        for i in ids:
            word = self.words[int(i)]
            if strip and word == EOS:
                break
            if strip and word in (PAD, SOS):
                continue
            words.append(word)
        return words

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "language": self.language,
            "words": self.words,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "vocabulary") -> Vocabulary:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UserError(f"'{source}' is not an rnnkit word vocabulary")
        version = data.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise UserError(f"'{source}' has vocabulary format {version}; upgrade rnnkit")
        words = data.get("words")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise UserError(f"'{source}' has no word list")
        try:
            return cls(words, str(data.get("language", "")))
        except ValueError as err:
            raise UserError(f"'{source}': {err}") from None

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        return cls.from_dict(read_json(path), str(path))
