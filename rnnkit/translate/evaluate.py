"""Scores (BLEU and chrF with sacrebleu, on detokenised text) and the retrieval baseline.

Hypotheses and references are both in the normalised form the model works in (lower case,
ASCII-folded), detokenised with :func:`rnnkit.translate.data.detokenize`; sacrebleu then applies
its own standard tokenisation (13a for BLEU). Two views of one test set:

* per pair (the headline): one segment per test pair, its own target as the single reference
  (a source with three translations is three segments with the same hypothesis);
* multi-reference: one segment per distinct source, all of its translations as references.

The retrieval baseline translates a sentence by the target of the training pair whose source is
most similar: cosine similarity of TF-IDF vectors of character 1- to 4-grams (with word
boundaries), computed with sparse torch matrices.
"""

from __future__ import annotations

import importlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from rnnkit.errors import UserError
from rnnkit.translate.data import Pair, detokenize, group_references


def _sacrebleu() -> Any:
    try:
        return importlib.import_module("sacrebleu")
    except ImportError:
        raise UserError(
            "translation scores need sacrebleu: pip install 'rnnkit[translate]'"
        ) from None


def corpus_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict:
    """BLEU and chrF of detokenised ``hypotheses``; ``references[i]`` are those of segment i."""
    sacrebleu = _sacrebleu()
    width = max(len(r) for r in references)
    streams = [[refs[j] if j < len(refs) else None for refs in references] for j in range(width)]
    bleu = sacrebleu.corpus_bleu(list(hypotheses), streams)
    chrf = sacrebleu.corpus_chrf(list(hypotheses), streams)
    return {"bleu": round(bleu.score, 2), "chrf": round(chrf.score, 2)}


def score_translations(
    pairs: Sequence[Pair], translate: Mapping[tuple[str, ...], Sequence[str]]
) -> dict[str, Any]:
    """Scores of the translations ``translate[source tokens] -> tokens`` of the test ``pairs``.

    Returns ``{"bleu", "chrf"}`` per pair, plus ``multi_reference`` and ``exact_match`` (the
    share of distinct sources translated exactly as one of their references).
    """
    per_pair = corpus_scores(
        [detokenize(translate[p.src]) for p in pairs], [[detokenize(p.tgt)] for p in pairs]
    )
    refs = group_references(pairs)
    sources = list(refs)
    multi = corpus_scores(
        [detokenize(translate[s]) for s in sources],
        [[detokenize(t) for t in refs[s]] for s in sources],
    )
    exact = sum(tuple(translate[s]) in {tuple(t) for t in refs[s]} for s in sources)
    return {**per_pair, "multi_reference": multi, "exact_match": round(exact / len(sources), 4)}


def char_ngrams(tokens: Sequence[str], n_max: int = 4) -> Counter:
    text = " " + " ".join(tokens) + " "
    return Counter(text[i : i + n] for n in range(1, n_max + 1) for i in range(len(text) - n + 1))


class RetrievalBaseline:
    """Nearest training source by TF-IDF character n-gram cosine; its target is the answer."""

    def __init__(self, train: Sequence[Pair], n_max: int = 4) -> None:
        if not train:
            raise UserError("the retrieval baseline needs training pairs")
        self.n_max = n_max
        refs = group_references(train)
        self.sources = list(refs)
        # the most frequent translation of each source (first seen on ties)
        self.targets = [Counter(refs[s]).most_common(1)[0][0] for s in self.sources]
        grams = [char_ngrams(s, n_max) for s in self.sources]
        df = Counter(g for c in grams for g in c)
        self.features = {g: i for i, g in enumerate(df)}
        n = len(self.sources)
        self.idf = torch.tensor(
            [math.log((1 + n) / (1 + df[g])) + 1 for g in self.features], dtype=torch.float32
        )
        self.matrix = self._vectors(grams)  # (sources, features) sparse COO, rows unit length

    def _vectors(self, grams: Sequence[Counter]) -> torch.Tensor:
        rows, cols, vals = [], [], []
        for r, counts in enumerate(grams):
            for g, c in counts.items():
                j = self.features.get(g)
                if j is not None:
                    rows.append(r)
                    cols.append(j)
                    vals.append(c)
        index = torch.tensor([rows, cols], dtype=torch.int64)
        values = torch.tensor(vals, dtype=torch.float32) * self.idf[index[1]]
        norms = torch.zeros(len(grams)).index_add_(0, index[0], values**2).sqrt().clamp_min(1e-12)
        values = values / norms[index[0]]
        shape = (len(grams), len(self.features))
        return torch.sparse_coo_tensor(index, values, shape, check_invariants=False).coalesce()

    def nearest(self, sources: Sequence[Sequence[str]], chunk: int = 64) -> list[int]:
        """Index of the most similar training source for each of ``sources``."""
        best: list[int] = []
        for start in range(0, len(sources), chunk):
            grams = [char_ngrams(s, self.n_max) for s in sources[start : start + chunk]]
            queries = self._vectors(grams).to_dense().T  # (features, chunk)
            similarity = torch.sparse.mm(self.matrix, queries)  # (train sources, chunk)
            best.extend(similarity.argmax(dim=0).tolist())
        return best

    def translate(self, sources: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        return [self.targets[i] for i in self.nearest(sources)]
