"""The character-level language model API: :class:`CharLM` (fit, sample, evaluate, save, load).

The network and its stateful truncated-BPTT loss live in :mod:`rnnkit.text.model`; the text, its
vocabulary, the parallel streams and the n-gram baselines in :mod:`rnnkit.text.data`. See
docs/text-and-classification.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnnkit.config import fraction, from_dict, option, positive_int
from rnnkit.errors import UserError
from rnnkit.models import ModelConfig, count_parameters
from rnnkit.runs import load_model_files, load_weights_into, save_model
from rnnkit.text.data import (
    TextStreams,
    Vocabulary,
    check_trainable,
    ngram_bits_per_char,
    split_text,
)
from rnnkit.text.model import CharLMNet, State, StatefulLMLoss, bits_per_char
from rnnkit.training import TrainConfig, fit
from rnnkit.training.estimator import Estimator
from rnnkit.training.seeding import seeded

KIND = "char_lm"
DEFAULT_STEPS = 600  # the default run: 612 steps of 64 streams x 100 characters on botchan


@dataclass
class CharLMConfig:
    """How a :class:`CharLM` is built and trained (saved in its checkpoint)."""

    # input_size is the embedding width (embed_size); output_size (the vocabulary) the text's
    model: ModelConfig = field(default_factory=lambda: ModelConfig(cell="lstm", hidden_size=128))
    embed_size: int = option(64, "width of the character embedding", type=positive_int)
    seq_len: int = option(100, "characters per truncated-BPTT chunk", type=positive_int)
    val_fraction: float = option(0.1, "the last part of the text that validates", type=fraction)
    steps: int | None = option(
        DEFAULT_STEPS,
        "optimiser steps, in equal passes of at most one sweep of the text; None: train.epochs",
        type=positive_int,
    )
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(batch_size=64, lr=1e-2, clip_norm=1.0, patience=5)
    )


class CharLM(Estimator[CharLMConfig]):
    """A character-level language model: ``fit`` on a text, ``sample`` from it, save and load.

    Options set :class:`CharLMConfig`'s fields by name (``hidden_size=256``, ``embed_size=32``,
    ``steps=None``); ``train=`` replaces its whole TrainConfig (see :class:`Estimator`).
    """

    config_class = CharLMConfig
    option_name = "CharLM option"

    def __init__(self, cell: str | None = None, **options: Any) -> None:
        super().__init__(cell, **options)
        if not 0.0 < self.config.val_fraction < 1.0:
            raise UserError(
                f"val_fraction (--val-fraction) must be in (0, 1), got {self.config.val_fraction}"
            )
        self.vocab: Vocabulary | None = None
        self.char_counts: list[int] = []
        self.net: CharLMNet | None = None
        self.metrics: dict[str, Any] = {}

    def _build(self, vocab: Vocabulary) -> CharLMNet:
        self.vocab = vocab
        size = self.config.embed_size
        self.config.model = replace(self.config.model, input_size=size, output_size=len(vocab))
        self.net = CharLMNet(self.config.model).to(self.device)
        return self.net

    def fit(self, text: str, **checkpointing: Any) -> CharLM:
        """Train on the first part of ``text``, validate on its last part; fills ``metrics``.

        ``checkpointing`` goes to :func:`rnnkit.training.fit`: ``run_dir``, ``resume``,
        ``checkpoint_every``, ``resume_hint``.
        """
        cfg, train_cfg = self.config, self.config.train
        train_text, val_text = split_text(text, cfg.val_fraction)
        check_trainable(len(train_text), len(val_text), train_cfg.batch_size, cfg.seq_len)
        vocab = Vocabulary.from_text(text)  # every character of the file, so val encodes
        train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
        self.char_counts = torch.bincount(train_ids, minlength=len(vocab)).tolist()
        with seeded(train_cfg.seed):  # same initial weights for the same seed
            net = self._build(vocab)
        train_set, val_set, epochs = self._batch_sources(train_ids, val_ids)
        per_epoch = train_set.steps_per_epoch
        start = time.perf_counter()
        self.history = fit(
            net,
            train_set,
            val_set,
            replace(train_cfg, epochs=epochs),
            loss_fn=StatefulLMLoss(),
            device=self.device,
            desc="lm",
            **checkpointing,
        )
        seconds = time.perf_counter() - start
        self.metrics = {
            "val_bpc": bits_per_char(net, val_ids, cfg.seq_len, self.device),
            **ngram_bits_per_char(train_ids, val_ids, len(vocab)),
            "train_chars": len(train_text),
            "val_chars": len(val_text),
            "vocab_size": len(vocab),
            "steps": len(self.history.records) * per_epoch,
            "epochs": len(self.history.records),
            "best_epoch": self.history.best_epoch,
            "train_seconds": seconds,
            "seconds_per_step": seconds / max(1, len(self.history.records) * per_epoch),
            "params": count_parameters(net),
        }
        return self

    def _batch_sources(self, train: Tensor, val: Tensor) -> tuple[TextStreams, TextStreams, int]:
        """Training and validation streams, and the number of passes to make."""
        cfg, streams = self.config, self.config.train.batch_size
        train_set = TextStreams(train, streams=streams, seq_len=cfg.seq_len)
        val_streams = max(1, min(streams, (len(val) - 1) // cfg.seq_len))
        val_set = TextStreams(val, streams=val_streams, seq_len=cfg.seq_len)
        epochs = cfg.train.epochs or 1
        if cfg.steps:  # equal passes of at most one sweep of the text, at least `steps` in all
            epochs = math.ceil(cfg.steps / train_set.steps_per_epoch)
            train_set.steps_per_pass = math.ceil(cfg.steps / epochs)
        return train_set, val_set, epochs

    def _ready(self) -> tuple[CharLMNet, Vocabulary]:
        if self.net is None or self.vocab is None:
            raise UserError("this CharLM has not been fitted or loaded yet")
        return self.net, self.vocab

    def evaluate(self, text: str) -> float:
        """Bits per character of ``text[1:]`` under the model (every character in vocabulary)."""
        net, vocab = self._ready()
        return bits_per_char(net, vocab.encode(text), self.config.seq_len, self.device)

    @torch.inference_mode()
    def sample(
        self,
        prompt: str = "",
        length: int = 500,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
    ) -> str:
        """``prompt`` followed by ``length`` generated characters.

        Each character is drawn from softmax(logits / temperature), restricted to the ``top_k``
        most likely when given. Without a prompt the first character is drawn from the
        training text's character frequencies.
        """
        net, vocab = self._ready()
        if not temperature > 0:
            raise UserError(f"temperature must be positive, got {temperature}")
        if top_k is not None and top_k < 1:
            raise UserError(f"top-k must be a positive integer, got {top_k}")
        generator = torch.Generator().manual_seed(seed if seed is not None else 0)
        net.eval()
        if not prompt:
            counts = torch.tensor(self.char_counts, dtype=torch.float64)
            prompt = vocab.chars[int(torch.multinomial(counts, 1, generator=generator))]
        x = vocab.encode(prompt).unsqueeze(0).to(self.device)  # (1, prompt length)
        state: State | None = None
        out: list[int] = []
        for _ in range(length):
            logits, state = net(x, state)  # (1, T, vocab)
            scores = logits[0, -1].float().cpu() / temperature  # (vocab,)
            if top_k is not None and top_k < scores.shape[0]:
                kth = torch.topk(scores, top_k).values[-1]
                scores = scores.masked_fill(scores < kth, -math.inf)
            nxt = int(torch.multinomial(scores.softmax(-1), 1, generator=generator))
            out.append(nxt)
            x = torch.tensor([[nxt]], device=self.device)  # (1, 1)
        return prompt + vocab.decode(out)

    def save(self, path: str | Path) -> Path:
        """Write ``model.safetensors`` and ``model.json`` into the folder ``path``."""
        net, vocab = self._ready()
        run_dir = Path(path)
        run_dir.mkdir(parents=True, exist_ok=True)
        meta = {
            "kind": KIND,
            "model": asdict(self.config.model),
            "vocabulary": vocab.chars,
            "char_counts": self.char_counts,
            "config": asdict(self.config),
        }
        save_model(run_dir, net, meta)
        return run_dir

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> CharLM:
        """A CharLM saved by :meth:`save`; another kind of checkpoint is a UserError."""
        tensors, meta = load_model_files(path, kind=KIND)
        try:
            lm = cls(config=from_dict(CharLMConfig, meta["config"]), device=device)
            lm.config.model = ModelConfig(**meta["model"])
            vocab = Vocabulary(str(meta["vocabulary"]))
            lm.char_counts = [int(c) for c in meta["char_counts"]]
        except (KeyError, TypeError, ValueError) as err:
            raise UserError(f"'{path}' has a malformed char_lm description ({err})") from None
        lm.vocab = vocab
        lm.net = CharLMNet(lm.config.model).to(lm.device)
        load_weights_into(lm.net, tensors, path)
        return lm
