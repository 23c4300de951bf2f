"""Sentence pairs: reading, normalising, filtering, splitting by source sentence, batching.

A pairs file has one ``source<TAB>target`` pair per line (the Tatoeba / manythings.org format;
extra tab-separated columns, such as Tatoeba's attribution, are ignored), as a UTF-8 text file
or inside a zip archive that holds one such text file.

Normalisation (both languages alike): Unicode compatibility decomposition, accents dropped
(ASCII folding), lower case; words are runs of letters, digits, hyphens and apostrophes, an
apostrophe ends its token (``j'ai`` -> ``j'`` ``ai``); ``. , ! ? ; :`` are tokens of their own;
every other character is a separator. :func:`detokenize` undoes the splitting.

Tatoeba repeats a source sentence with several translations, so a split by pair would put the
same English sentence in training and test. :func:`split_by_source` splits the distinct source
sentences instead, and every pair follows its source.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, Sampler

from rnnkit.errors import UserError
from rnnkit.translate.vocab import EOS, PAD, SOS, Vocabulary

PUNCTUATION = frozenset(".,!?;:")
_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*'?|[.,!?;:]|'")
_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:])")


def fold(text: str) -> str:
    """Lower-case ASCII: compatibility-decomposed, combining marks and non-ASCII dropped."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'").replace("\u0153", "oe"))
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii")
    return ascii_only.lower()


def tokenize(text: str) -> list[str]:
    """Normalised tokens of ``text`` (see the module docstring)."""
    tokens: list[str] = []
    for token in _TOKEN.findall(fold(text)):
        # split word-internal elisions after the apostrophe: "j'ai" -> "j'", "ai"
        parts = re.findall(r"[^']+'|[^']+$|'", token) if "'" in token[:-1] else [token]
        tokens.extend(p for p in parts if p != "'")
    return tokens


def detokenize(tokens: Sequence[str]) -> str:
    """Text from tokens: no space before punctuation nor after an elision apostrophe."""
    text = " ".join(tokens)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    return re.sub(r"' ", "'", text)


def count_words(tokens: Sequence[str]) -> int:
    """Tokens that are words (punctuation does not count)."""
    return sum(1 for t in tokens if t not in PUNCTUATION)


@dataclass(frozen=True)
class Pair:
    """One translation pair, tokenised."""

    src: tuple[str, ...]
    tgt: tuple[str, ...]


def _read_bytes(path: Path) -> tuple[bytes, str]:
    """The pairs text of a file or of the one text member of a zip, and its display name."""
    if not path.exists():
        raise UserError(f"pairs file '{path}' does not exist")
    if not path.is_file():
        raise UserError(f"'{path}' is not a file")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = [
                    n
                    for n in archive.namelist()
                    if not n.endswith("/") and not Path(n).name.startswith(("_", "."))
                ]
                if len(names) != 1:
                    listed = ", ".join(names) or "none"
                    raise UserError(
                        f"zip '{path}' must hold exactly one pairs file besides '_about' notes; "
                        f"found: {listed}"
                    )
                return archive.read(names[0]), f"{path}:{names[0]}"
        except (zipfile.BadZipFile, OSError) as err:
            raise UserError(f"cannot read zip '{path}': {err}") from None
    return path.read_bytes(), str(path)


def read_pairs(source: str | Path) -> list[tuple[str, str]]:
    """Raw ``(source, target)`` strings from a pairs file or zip; blank lines are skipped.

    An empty file, a binary or non-UTF-8 file, or a line without a tab is a UserError.
    """
    data, name = _read_bytes(Path(source))
    if b"\x00" in data:
        raise UserError(f"'{name}' looks like a binary file, not tab-separated sentence pairs")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserError(f"'{name}' is not UTF-8 text (byte {err.start})") from None
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise UserError(f"'{name}' line {number} is not 'source<TAB>target': {line[:60]!r}")
        pairs.append((fields[0].strip(), fields[1].strip()))
    if not pairs:
        raise UserError(f"'{name}' holds no sentence pairs (it is empty)")
    return pairs


def prepare_pairs(raw: Sequence[tuple[str, str]], max_words: int | None = None) -> list[Pair]:
    """Tokenised pairs; pairs with an empty side or more than ``max_words`` words are dropped."""
    pairs = []
    for src_text, tgt_text in raw:
        src, tgt = tokenize(src_text), tokenize(tgt_text)
        if not count_words(src) or not count_words(tgt):
            continue
        if max_words is not None and max(count_words(src), count_words(tgt)) > max_words:
            continue
        pairs.append(Pair(tuple(src), tuple(tgt)))
    return pairs


def load_pairs(source: str | Path, max_words: int | None = None) -> list[Pair]:
    """:func:`read_pairs` then :func:`prepare_pairs`; no pair left is a UserError."""
    pairs = prepare_pairs(read_pairs(source), max_words)
    if not pairs:
        limit = f" of at most {max_words} words" if max_words else ""
        raise UserError(f"'{source}' holds no usable sentence pairs{limit}")
    return pairs


@dataclass
class Split:
    train: list[Pair]
    val: list[Pair]
    test: list[Pair]


def split_by_source(
    pairs: Sequence[Pair], val_fraction: float, test_fraction: float, seed: int = 0
) -> Split:
    """Split the distinct source sentences at random; each pair goes where its source went.

    So every source sentence (with all of its translations) is in exactly one part. The
    fractions count distinct source sentences; validation and test get at least one each.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise UserError(
            f"the validation ({val_fraction}) and test ({test_fraction}) fractions must be in "
            "[0, 1) and leave a training part"
        )
    sources = sorted({p.src for p in pairs})
    n = len(sources)
    n_test = max(1, round(n * test_fraction)) if test_fraction else 0
    n_val = max(1, round(n * val_fraction)) if val_fraction else 0
    if n - n_test - n_val < 1:
        raise UserError(
            f"only {n} distinct source sentences: too few to hold out validation and test ones"
        )
    order = np.random.default_rng(seed).permutation(n)
    part = np.zeros(n, dtype=np.int8)  # 0 train, 1 val, 2 test
    part[order[:n_test]] = 2
    part[order[n_test : n_test + n_val]] = 1
    where = {s: int(part[i]) for i, s in enumerate(sources)}
    parts: tuple[list[Pair], list[Pair], list[Pair]] = ([], [], [])
    for p in pairs:
        parts[where[p.src]].append(p)
    return Split(*parts)


def group_references(pairs: Sequence[Pair]) -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    """Each distinct source sentence with all of its targets, in first-seen order."""
    refs: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for p in pairs:
        refs.setdefault(p.src, []).append(p.tgt)
    return refs


class PairDataset(Dataset):
    """Pairs as id tensors: the source without markers, the target as ``<sos> ... <eos>``."""

    def __init__(self, pairs: Sequence[Pair], src_vocab: Vocabulary, tgt_vocab: Vocabulary):
        self.src = [torch.tensor(src_vocab.encode(p.src), dtype=torch.int64) for p in pairs]
        sos, eos = tgt_vocab.index(SOS), tgt_vocab.index(EOS)
        self.tgt = [
            torch.tensor([sos, *tgt_vocab.encode(p.tgt), eos], dtype=torch.int64) for p in pairs
        ]

    def __len__(self) -> int:
        return len(self.src)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.src[i], self.tgt[i]


def collate(items: Sequence[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor, Tensor]:
    """``(src, src_lengths, tgt)``: (B, S) and (B, T) padded with ``<pad>`` (id 0), (B,)."""
    assert Vocabulary.SPECIALS.index(PAD) == 0
    src = pad_sequence([s for s, _ in items], batch_first=True, padding_value=0)
    tgt = pad_sequence([t for _, t in items], batch_first=True, padding_value=0)
    lengths = torch.tensor([len(s) for s, _ in items], dtype=torch.int64)
    return src, lengths, tgt


class BucketBatchSampler(Sampler[list[int]]):
    """Shuffled batches of similar source lengths (less padding, same expected order).

    Each epoch: shuffle all indices, cut them into pools of ``pool`` batches, sort each pool by
    length, cut it into batches, and shuffle the batches.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        generator: torch.Generator | None = None,
        pool: int = 50,
    ) -> None:
        self.lengths = torch.as_tensor(list(lengths))
        self.batch_size, self.generator, self.pool = batch_size, generator, pool

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        order = torch.randperm(len(self.lengths), generator=self.generator)
        size = self.batch_size * self.pool
        batches: list[list[int]] = []
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            chunk = chunk[torch.argsort(self.lengths[chunk], stable=True)]
            batches.extend(
                chunk[i : i + self.batch_size].tolist()
                for i in range(0, len(chunk), self.batch_size)
            )
        for b in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[b]


class PairBatches:
    """Pairs as the fit loop's batch source (``len`` and ``iter_batches``): shuffled batches of
    similar lengths for training, the data set in order for validation."""

    def __init__(self, dataset: PairDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def iter_batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        if shuffle:
            lengths = [len(src) for src in self.dataset.src]
            sampler = BucketBatchSampler(lengths, batch_size, generator)
            yield from DataLoader(self.dataset, batch_sampler=sampler, collate_fn=collate)
        else:
            yield from DataLoader(self.dataset, batch_size=batch_size, collate_fn=collate)
