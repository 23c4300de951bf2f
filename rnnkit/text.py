"""Character-level language model: the network, the stateful loss and the :class:`CharLM` API.

Training is the char-rnn recipe on rnnkit's one fit loop: the text is cut into parallel
streams (:class:`rnnkit.text_data.TextStreams`), consecutive chunks of each stream are
consecutive batches, and :class:`StatefulLMLoss` carries the recurrent state from one batch to
the next, detached, so gradients flow back at most ``seq_len`` characters (truncated BPTT).
The loss is the cross-entropy in bits per character, so learning curves read in bits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import UserError
from rnnkit.models import ModelConfig, count_parameters, make_recurrent, resolve_device
from rnnkit.runs import load_model_files, load_weights_into, save_model
from rnnkit.text_data import (
    TextStreams,
    Vocabulary,
    check_trainable,
    ngram_bits_per_char,
    split_text,
)
from rnnkit.train import Batch, History, TrainConfig, fit

KIND = "char_lm"
State = Tensor | tuple[Tensor, ...]


def map_state(state: State, fn: Callable[[Tensor], Tensor]) -> State:
    """``fn`` applied to a recurrent state: ``h_n``, or each tensor of an LSTM's (h_n, c_n)."""
    if isinstance(state, tuple):
        return tuple(fn(s) for s in state)
    return fn(state)


def detach_state(state: State) -> State:
    """The same recurrent state without its autograd history."""
    return map_state(state, Tensor.detach)


class CharLMNet(nn.Module):
    """Embedding -> recurrent stack -> linear softmax head: one next-character guess per step.

    Uses a :class:`ModelConfig` with ``input_size`` = embedding width and ``output_size`` =
    vocabulary size.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.bidirectional:
            raise UserError("a language model reads left to right; drop --bidirectional")
        self.config = config
        self.embed = nn.Embedding(config.output_size, config.input_size)
        self.rnn = make_recurrent(
            config.cell,
            config.input_size,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
            backend=config.backend,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.output_size)

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """(batch, time) character ids -> logits (batch, time, vocab) and the final state."""
        h = self.embed(x)  # (batch, time, embed)
        out, state = self.rnn(h, state)  # (batch, time, hidden)
        return self.head(self.drop(out)), state  # (batch, time, vocab)


class StatefulLMLoss:
    """Next-character cross-entropy in bits, carrying the hidden state across batches.

    ``fit`` calls :meth:`start_epoch` before every training and evaluation pass, which resets
    the state to zeros (``None``); within a pass, batch k+1 starts from batch k's final state.
    """

    def __init__(self) -> None:
        self.state: State | None = None

    def start_epoch(self) -> None:
        self.state = None

    def state_dict(self) -> dict[str, Tensor]:
        """The carried state as named tensors (checkpointed by ``fit`` mid-epoch)."""
        if self.state is None:
            return {}
        parts = self.state if isinstance(self.state, tuple) else (self.state,)
        return {str(i): p for i, p in enumerate(parts)}

    def load_state_dict(self, tensors: dict[str, Tensor]) -> None:
        parts = tuple(tensors[k] for k in sorted(tensors, key=int))
        self.state = None if not parts else parts if len(parts) > 1 else parts[0]

    def __call__(self, model: nn.Module, batch: Batch) -> Tensor:
        x, y = batch  # (streams, T) each
        if self.state is not None:  # e.g. restored from a checkpoint on the CPU
            self.state = map_state(self.state, lambda s: s.to(x.device))
        logits, state = model(x, self.state)  # (streams, T, vocab)
        self.state = detach_state(state)  # carried over; the gradient stops here
        return F.cross_entropy(logits.flatten(0, 1), y.flatten()) / math.log(2)


@torch.inference_mode()
def bits_per_char(model: nn.Module, ids: Tensor, seq_len: int, device: torch.device) -> float:
    """Mean bits per character of ``ids[1:]`` read as one stream, the state carried throughout."""
    model.eval()
    loss, total, count = StatefulLMLoss(), 0.0, 0
    for x, y in TextStreams(ids, streams=1, seq_len=seq_len).iter_batches():
        total += float(loss(model, (x.to(device), y.to(device)))) * y.numel()
        count += y.numel()
    return total / count


@dataclass
class CharLMConfig:
    """How a :class:`CharLM` is built and trained (saved in its checkpoint)."""

    model: ModelConfig = field(
        # input_size is the embedding width; output_size (the vocabulary) comes from the text
        default_factory=lambda: ModelConfig(cell="lstm", input_size=64, hidden_size=256)
    )
    seq_len: int = 100  # characters per truncated-BPTT chunk
    val_fraction: float = 0.1  # the last part of the text validates
    steps: int | None = 400  # optimiser steps (at least; in equal passes); None: train.epochs
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(batch_size=64, lr=3e-3, clip_norm=1.0, patience=5)
    )


class CharLM:
    """A character-level language model: ``fit`` on a text, ``sample`` from it, save and load."""

    def __init__(
        self,
        cell: str = "lstm",
        *,
        backend: str = "auto",
        hidden_size: int = 256,
        num_layers: int = 1,
        embed_size: int = 64,
        dropout: float = 0.0,
        seq_len: int = 100,
        val_fraction: float = 0.1,
        steps: int | None = 400,
        train: TrainConfig | None = None,
        device: str = "auto",
    ) -> None:
        model = ModelConfig(
            cell=cell,
            backend=backend,
            input_size=embed_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
        )
        self.config = CharLMConfig(
            model, seq_len, val_fraction, steps, train or CharLMConfig().train
        )
        if not 0.0 < val_fraction < 1.0:
            raise UserError(f"the validation fraction must be in (0, 1), got {val_fraction}")
        self.device = resolve_device(device)
        self.vocab: Vocabulary | None = None
        self.char_counts: list[int] = []
        self.net: CharLMNet | None = None
        self.history = History()
        self.metrics: dict[str, Any] = {}

    def _build(self, vocab: Vocabulary) -> CharLMNet:
        self.vocab = vocab
        self.config.model = replace(self.config.model, output_size=len(vocab))
        self.net = CharLMNet(self.config.model).to(self.device)
        return self.net

    def fit(self, text: str) -> CharLM:
        """Train on the first part of ``text``, validate on its last part; fills ``metrics``."""
        cfg, train_cfg = self.config, self.config.train
        train_text, val_text = split_text(text, cfg.val_fraction)
        check_trainable(len(train_text), len(val_text), train_cfg.batch_size, cfg.seq_len)
        vocab = Vocabulary.from_text(text)  # every character of the file, so val encodes
        train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
        self.char_counts = torch.bincount(train_ids, minlength=len(vocab)).tolist()
        torch.manual_seed(train_cfg.seed)  # same initial weights for the same seed
        net = self._build(vocab)
        train_set = TextStreams(train_ids, streams=train_cfg.batch_size, seq_len=cfg.seq_len)
        val_streams = max(1, min(train_cfg.batch_size, (len(val_ids) - 1) // cfg.seq_len))
        val_set = TextStreams(val_ids, streams=val_streams, seq_len=cfg.seq_len)
        epochs = train_cfg.epochs
        if cfg.steps:  # equal passes of at most one sweep of the text, at least `steps` in all
            epochs = math.ceil(cfg.steps / train_set.steps_per_epoch)
            train_set.steps_per_pass = math.ceil(cfg.steps / epochs)
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
            config = meta["config"]
            lm = cls(
                device=device,
                seq_len=int(config["seq_len"]),
                val_fraction=float(config["val_fraction"]),
                steps=config["steps"],
                train=TrainConfig(**config["train"]),
            )
            lm.config.model = ModelConfig(**meta["model"])
            vocab = Vocabulary(str(meta["vocabulary"]))
            lm.char_counts = [int(c) for c in meta["char_counts"]]
        except (KeyError, TypeError, ValueError) as err:
            raise UserError(f"'{path}' has a malformed char_lm description ({err})") from None
        lm.vocab = vocab
        lm.net = CharLMNet(lm.config.model).to(lm.device)
        load_weights_into(lm.net, tensors, path)
        return lm
