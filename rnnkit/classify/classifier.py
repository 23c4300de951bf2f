"""Sequence classification: a packed recurrent model and the :class:`SequenceClassifier` API.

Batches are zero-padded to their longest sequence and packed
(``torch.nn.utils.rnn.pack_padded_sequence``) before the recurrent stack, so the padding is
never read: the final state of each row is taken at its own last step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.nn.utils.rnn import pack_padded_sequence

from rnnkit.classify.data import (
    PaddedBatches,
    SequenceSet,
    TableSpec,
    extract,
    stratified_split,
)
from rnnkit.config import fraction, from_dict, option
from rnnkit.data.scaling import SeriesScaler
from rnnkit.errors import UserError
from rnnkit.metrics import accuracy, confusion_matrix, macro_f1
from rnnkit.models import ModelConfig, SequenceModel, count_parameters, last_hidden
from rnnkit.runs import load_model_files, load_weights_into, save_model
from rnnkit.training import TrainConfig, classification_loss, fit
from rnnkit.training.estimator import Estimator
from rnnkit.training.seeding import seeded

KIND = "sequence_classifier"


class PackedSequenceModel(SequenceModel):
    """:class:`SequenceModel` for variable-length batches: the padded input is packed first.

    ``output_size`` is the number of classes; the outputs are logits.
    """

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """(batch, time, features) and (batch,) lengths -> (batch, classes) logits."""
        if lengths is None:
            return super().forward(x)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)  # h_n in the batch's original row order
        return self.head(last_hidden(state, self.num_directions))  # (batch, classes)


@dataclass
class ClassifierConfig:
    """How a :class:`SequenceClassifier` is built and trained (saved in its checkpoint)."""

    model: ModelConfig = field(default_factory=lambda: ModelConfig(cell="gru", hidden_size=32))
    val_fraction: float = option(
        0.1, "part of the training sequences that validates, for early stopping", type=fraction
    )
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            epochs=40, batch_size=32, lr=1e-2, patience=10, log_every=10
        )
    )


class SequenceClassifier(Estimator[ClassifierConfig]):
    """Classify whole sequences of any length: ``fit`` on a labelled table, ``predict`` labels.

    Options set :class:`ClassifierConfig`'s fields by name (``hidden_size=64``,
    ``bidirectional=True``); ``train=`` replaces its whole TrainConfig (see :class:`Estimator`).
    """

    config_class = ClassifierConfig
    option_name = "classifier option"

    def __init__(self, cell: str | None = None, **options: Any) -> None:
        super().__init__(cell, **options)
        self.spec = TableSpec()
        self.classes: list[str] = []
        self.scaler: SeriesScaler | None = None
        self.net: PackedSequenceModel | None = None

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        label: str = "label",
        format: str = "wide",
        id_col: str | None = None,
        time_col: str | None = None,
        features: list[str] | None = None,
    ) -> SequenceClassifier:
        """Train on every sequence of ``frame`` (a stratified part of it validates)."""
        self.spec = TableSpec(format, label, id_col, time_col, list(features or []))
        return self.fit_sequences(extract(frame, self.spec), self.spec)

    def fit_sequences(
        self, data: SequenceSet, spec: TableSpec, **checkpointing: Any
    ) -> SequenceClassifier:
        """Train on already extracted sequences laid out as ``spec``.

        ``checkpointing`` goes to :func:`rnnkit.training.fit`: ``run_dir``, ``resume``,
        ``checkpoint_every``, ``resume_hint``.
        """
        self.spec = spec
        self.classes = sorted(set(data.labels.tolist()))
        if len(self.classes) < 2:
            one = self.classes[0] if self.classes else ""
            raise UserError(f"the '{spec.label}' column has only one class ({one!r}); need two")
        cfg = self.config
        fit_part, val_part = stratified_split(data.labels, cfg.val_fraction, cfg.train.seed)
        train, val = data.subset(fit_part), data.subset(val_part)
        self.scaler = SeriesScaler.fit_pooled(train.sequences)
        features = int(train.sequences[0].shape[1])
        cfg.model = replace(cfg.model, input_size=features, output_size=len(self.classes))
        with seeded(cfg.train.seed):  # same initial weights for the same seed
            self.net = PackedSequenceModel(cfg.model).to(self.device)
        self.history = fit(
            self.net,
            self._batches(train),
            self._batches(val),
            cfg.train,
            loss_fn=classification_loss,
            device=self.device,
            desc="classify",
            **checkpointing,
        )
        return self

    def _ready(self) -> tuple[PackedSequenceModel, SeriesScaler]:
        if self.net is None or self.scaler is None:
            raise UserError("this SequenceClassifier has not been fitted or loaded yet")
        return self.net, self.scaler

    def _batches(self, data: SequenceSet) -> PaddedBatches:
        """Scaled sequences with their class ids (zeros for an unlabelled set)."""
        if self.scaler is None:
            raise UserError("this SequenceClassifier has not been fitted or loaded yet")
        if len(data.labels):
            targets = torch.from_numpy(self.codes(data.labels))
        else:
            targets = torch.zeros(len(data.sequences), dtype=torch.int64)
        return PaddedBatches(self.scaler.transform_each(data.sequences), targets)

    def codes(self, labels: np.ndarray) -> np.ndarray:
        """Class ids of ``labels``; a label unseen in training is a UserError."""
        index = {c: i for i, c in enumerate(self.classes)}
        missing = [c for c in labels.tolist() if c not in index]
        if missing:
            raise UserError(f"label {missing[0]!r} was not among the training classes")
        return np.array([index[c] for c in labels.tolist()], dtype=np.int64)

    @torch.inference_mode()
    def proba_sequences(self, data: SequenceSet, batch_size: int = 256) -> np.ndarray:
        """Class probabilities (n, classes), columns in the order of ``classes``."""
        net, _ = self._ready()
        if data.sequences and data.sequences[0].shape[1] != net.config.input_size:
            raise UserError(
                f"the data has {data.sequences[0].shape[1]} features per step; the model "
                f"was trained on {net.config.input_size}"
            )
        net.eval()
        out = []
        for x, lengths, _ in self._batches(data).iter_batches(batch_size):
            out.append(net(x.to(self.device), lengths).softmax(-1).cpu())
        return torch.cat(out).numpy().astype(np.float64)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Class probabilities (n sequences, classes), columns in the order of ``classes``."""
        return self.proba_sequences(extract(frame, self.spec, need_label=False))

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per sequence: its id (or row number), the predicted label, p_<class>..."""
        data = extract(frame, self.spec, need_label=False)
        return self.prediction_table(data, self.proba_sequences(data))

    def prediction_table(self, data: SequenceSet, proba: np.ndarray) -> pd.DataFrame:
        table = pd.DataFrame({data.id_name: data.ids})
        table["label"] = np.asarray(self.classes, dtype=object)[proba.argmax(axis=1)]
        for i, name in enumerate(self.classes):
            table[f"p_{name}"] = proba[:, i]
        return table

    def evaluate(self, frame: pd.DataFrame) -> dict[str, Any]:
        """Accuracy, macro F1 and the confusion matrix on a labelled table."""
        return self.evaluate_sequences(extract(frame, self.spec))

    def evaluate_sequences(self, data: SequenceSet) -> dict[str, Any]:
        predicted = self.proba_sequences(data).argmax(axis=1)
        return classification_report(self.codes(data.labels), predicted, self.classes)

    def save(self, path: str | Path) -> Path:
        """Write ``model.safetensors`` and ``model.json`` into the folder ``path``."""
        net, scaler = self._ready()
        run_dir = Path(path)
        run_dir.mkdir(parents=True, exist_ok=True)
        meta = {
            "kind": KIND,
            "model": asdict(net.config),
            "classes": self.classes,
            "scaler": scaler.to_dict(),
            "table": asdict(self.spec),
            "config": asdict(self.config),
            "params": count_parameters(net),
        }
        save_model(run_dir, net, meta)
        return run_dir

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> SequenceClassifier:
        """A SequenceClassifier saved by :meth:`save`; another kind is a UserError."""
        tensors, meta = load_model_files(path, kind=KIND)
        try:
            clf = cls(config=from_dict(ClassifierConfig, meta["config"]), device=device)
            clf.config.model = ModelConfig(**meta["model"])
            clf.classes = [str(c) for c in meta["classes"]]
            clf.scaler = SeriesScaler.from_dict(meta["scaler"])
            clf.spec = TableSpec(**meta["table"])
        except (KeyError, TypeError, ValueError) as err:
            raise UserError(f"'{path}' has a malformed classifier description ({err})") from None
        clf.net = PackedSequenceModel(clf.config.model).to(clf.device)
        load_weights_into(clf.net, tensors, path)
        return clf


def classification_report(
    y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]
) -> dict[str, Any]:
    """Accuracy, macro F1 and the confusion matrix (rows: true class, columns: predicted)."""
    k = len(classes)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1": macro_f1(y_true, y_pred, k),
        "confusion_matrix": confusion_matrix(y_true, y_pred, k).tolist(),
        "classes": list(classes),
        "n": int(len(y_true)),
    }
