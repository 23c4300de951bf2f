"""The :class:`Translator` estimator: vocabularies + Seq2Seq + training + search + save/load.

Training data is a :class:`~rnnkit.translate.data.PairBatches` batch source and the loss a
``loss_fn(model, batch) -> Tensor`` (:class:`TranslationLoss`), trained by the shared
:func:`rnnkit.training.fit` (checkpoints and resume included).

Teacher forcing follows a schedule: the share of gold previous words fed to the decoder is
``teacher_forcing[0]`` for the first half of the steps, then goes linearly to
``teacher_forcing[1]`` at the last step.
Below 1, a step runs the batch twice (parallel scheduled sampling, Duckworth et al. 2019): once
teacher-forced without gradients to get the model's own predictions, then on previous words
that are each the gold word with probability ``ratio`` and the model's prediction otherwise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.config import from_dict
from rnnkit.errors import UserError
from rnnkit.models import count_parameters, resolve_backend
from rnnkit.runs import load_model_files, load_weights_into, save_model
from rnnkit.training import History, fit
from rnnkit.translate.config import TranslatorConfig, adaptive_cutoffs
from rnnkit.translate.data import Pair, PairBatches, PairDataset, tokenize
from rnnkit.translate.model import ATTENTIONS, Seq2Seq, build_model
from rnnkit.translate.search import Hypothesis, ModelDecoder, beam_search, greedy
from rnnkit.translate.vocab import EOS, SOS, Vocabulary

KIND = "translator"


class TranslationLoss:
    """The model's per-word loss (padding ignored) under the teacher-forcing schedule."""

    def __init__(self, total_steps: int, teacher_forcing: tuple[float, float]) -> None:
        self.total_steps = max(1, total_steps)
        self.start, self.end = teacher_forcing
        self.steps = 0

    def ratio(self) -> float:
        """Gold share now: ``start`` for the first half of training, then linear to ``end``."""
        progress = min(1.0, max(0.0, 2.0 * self.steps / self.total_steps - 1.0))
        return self.start + (self.end - self.start) * progress

    def __call__(self, model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        src, lengths, tgt = batch
        prev, gold = tgt[:, :-1], tgt[:, 1:]
        if model.training:
            ratio = self.ratio()
            self.steps += 1
            if ratio < 1.0:
                prev = self._mixed_inputs(model, src, lengths, prev, ratio)
        return model(src, lengths, prev, gold)

    @staticmethod
    def _mixed_inputs(
        model: nn.Module, src: Tensor, lengths: Tensor, prev: Tensor, ratio: float
    ) -> Tensor:
        """Gold previous words, each replaced by the model's own prediction w.p. 1 - ratio."""
        with torch.no_grad():
            inner: Any = getattr(model, "module", model)  # unwrap DistributedDataParallel
            predicted = inner.predict(src, lengths, prev)  # (B, T): the guess for position t+1
        mixed = prev.clone()
        rest = prev[:, 1:]  # position 0 is <sos>, always given
        replace = (torch.rand(rest.shape, device=prev.device) >= ratio) & (rest != 0)
        mixed[:, 1:] = torch.where(replace, predicted[:, :-1], rest)
        return mixed

    # the checkpoint keeps the schedule's position, so a resumed run continues it
    def state_dict(self) -> dict[str, Tensor]:
        return {"steps": torch.tensor(self.steps)}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.steps = int(state["steps"])


@dataclass
class Translation:
    tokens: list[str]
    unknown: list[str]  # source words the model does not know (read as <unk>)
    attention: Tensor | None  # (output words incl. <eos>, source words)
    source: list[str]


class Translator:
    """Train on tokenised :class:`Pair` lists, translate text, save and load a run folder."""

    def __init__(self, config: TranslatorConfig | None = None) -> None:
        self.config = config or TranslatorConfig()
        c = self.config
        resolve_backend(c.model.cell, c.model.backend)  # unknown names fail early
        if c.model.attention not in ATTENTIONS:
            from rnnkit.errors import unknown

            raise unknown("attention", c.model.attention, ATTENTIONS)
        for share in c.teacher_forcing:
            if not 0.0 <= share <= 1.0:
                raise UserError(f"teacher-forcing shares must be in [0, 1], got {share}")
        self.src_vocab: Vocabulary | None = None
        self.tgt_vocab: Vocabulary | None = None
        self.model: Seq2Seq | Any = None  # Seq2Seq, or the Transformer baseline
        self.history: History | None = None
        self.train_seconds = 0.0
        self.train_cpu_seconds = 0.0

    # -- training ---------------------------------------------------------------------------
    def fit(
        self,
        train: Sequence[Pair],
        val: Sequence[Pair] | None = None,
        device: torch.device | None = None,
        **checkpointing: Any,
    ) -> Translator:
        """Build the vocabularies from ``train``, then train (early stopping on ``val``).

        ``checkpointing`` goes to :func:`rnnkit.training.fit`: ``run_dir``, ``resume``,
        ``checkpoint_every``, ``resume_hint``.
        """
        c = self.config
        if not train:
            raise UserError("no training pairs")
        self.src_vocab = Vocabulary.build((p.src for p in train), c.min_count, c.src_lang)
        self.tgt_vocab = Vocabulary.build((p.tgt for p in train), c.min_count, c.tgt_lang)
        c.model.src_vocab_size, c.model.tgt_vocab_size = len(self.src_vocab), len(self.tgt_vocab)
        c.max_len = max(len(p.tgt) for p in train) + 5
        c.model.adaptive_cutoffs = adaptive_cutoffs(len(self.tgt_vocab), c.adaptive_from)
        c.model.label_smoothing = 0.0 if c.model.adaptive_cutoffs else c.label_smoothing
        torch.manual_seed(c.train.seed)
        self.model = build_model(c.model)
        train_data = PairBatches(PairDataset(train, self.src_vocab, self.tgt_vocab))
        val_data = PairBatches(PairDataset(val, self.src_vocab, self.tgt_vocab)) if val else None
        steps = (c.train.epochs or 1) * math.ceil(len(train) / c.train.batch_size)
        start, end = c.teacher_forcing
        loss = TranslationLoss(steps, (start, end))
        started, cpu_started = time.perf_counter(), time.process_time()
        self.history = fit(
            self.model, train_data, val_data, c.train, loss_fn=loss, desc="translate",
            device=device or torch.device("cpu"), **checkpointing,
        )  # fmt: skip
        self.train_seconds = time.perf_counter() - started
        self.train_cpu_seconds = time.process_time() - cpu_started  # CPU time of this process
        self.model.cpu().eval()  # search runs on the CPU
        return self

    @property
    def parameters(self) -> int:
        return count_parameters(self._ready())

    def _ready(self) -> Seq2Seq:
        if self.model is None or self.src_vocab is None or self.tgt_vocab is None:
            raise UserError("the translator is not trained; call fit() or load a run")
        return self.model

    # -- translation ------------------------------------------------------------------------
    @torch.no_grad()
    def translate_tokens(
        self, sources: Sequence[Sequence[str]], beam: int | None = None, chunk: int = 256
    ) -> list[Translation]:
        """Translate tokenised sentences (beam 1: batched greedy search)."""
        model = self._ready()
        assert self.src_vocab is not None and self.tgt_vocab is not None
        model.eval()
        beam = self.config.beam if beam is None else beam
        sos, eos = self.tgt_vocab.index(SOS), self.tgt_vocab.index(EOS)
        results: list[Translation | None] = [None] * len(sources)
        for i, s in enumerate(sources):  # nothing to translate: an empty translation
            if not s:
                results[i] = Translation([], [], None, [])
        todo = [i for i, r in enumerate(results) if r is None]
        for start in range(0, len(todo), chunk):
            rows = todo[start : start + chunk]
            part = [list(sources[i]) for i in rows]
            ids = [self.src_vocab.encode(s) for s in part]
            src = torch.zeros(len(ids), max(map(len, ids)), dtype=torch.int64)
            for i, row in enumerate(ids):
                src[i, : len(row)] = torch.tensor(row)
            lengths = torch.tensor([len(r) for r in ids])
            memory, state = model.encode(src, lengths)
            decoder = ModelDecoder(model, memory)
            if beam == 1:
                hyps = greedy(decoder, (state, memory), len(ids), sos, eos, self.config.max_len)
            else:
                hyps = [
                    beam_search(
                        decoder,
                        decoder.reorder((state, memory), torch.tensor([i])),
                        sos,
                        eos,
                        self.config.max_len,
                        beam,
                        self.config.length_alpha,
                    )  # fmt: skip
                    for i in range(len(ids))
                ]
            for i, sentence, n, hyp in zip(rows, part, lengths.tolist(), hyps, strict=True):
                results[i] = self._result(sentence, n, hyp)
        return [r for r in results if r is not None]

    def _result(self, source: list[str], n: int, hyp: Hypothesis) -> Translation:
        assert self.src_vocab is not None and self.tgt_vocab is not None
        attention = torch.stack([a[:n] for a in hyp.attention]) if hyp.attention else None
        return Translation(
            self.tgt_vocab.decode(hyp.tokens), self.src_vocab.unknown(source), attention, source
        )

    def translate(self, texts: Sequence[str], beam: int | None = None) -> list[Translation]:
        """Translate raw sentences (normalised and tokenised like the training data)."""
        return self.translate_tokens([tokenize(t) for t in texts], beam)

    # -- persistence ------------------------------------------------------------------------
    def save(self, run_dir: str | Path) -> None:
        model = self._ready()
        assert self.src_vocab is not None and self.tgt_vocab is not None
        run_dir = Path(run_dir)
        meta = {"kind": KIND, "config": asdict(self.config)}
        save_model(run_dir, model, meta)
        self.src_vocab.save(run_dir / "vocab_src.json")
        self.tgt_vocab.save(run_dir / "vocab_tgt.json")

    @classmethod
    def load(cls, run_dir: str | Path) -> Translator:
        run_dir = Path(run_dir)
        tensors, meta = load_model_files(run_dir, kind=KIND)
        try:
            config = from_dict(TranslatorConfig, meta["config"])
        except (KeyError, TypeError, UserError) as err:
            raise UserError(
                f"'{run_dir}/model.json' has no usable translator config ({err})"
            ) from None
        translator = cls(config)
        translator.src_vocab = Vocabulary.load(run_dir / "vocab_src.json")
        translator.tgt_vocab = Vocabulary.load(run_dir / "vocab_tgt.json")
        translator.model = build_model(config.model)
        load_weights_into(translator.model, tensors, run_dir / "model.safetensors")
        translator.model.eval()
        return translator
