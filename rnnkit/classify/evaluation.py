"""The held-out test of a sequence classifier, beside the majority-class and 1-NN baselines."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rnnkit.classify.classifier import SequenceClassifier, classification_report
from rnnkit.classify.data import SequenceSet, stratified_split
from rnnkit.data.scaling import SeriesScaler
from rnnkit.models import count_parameters


def majority_class(train_codes: np.ndarray, n_test: int) -> np.ndarray:
    """The most frequent training class (the lowest id on a tie), for every test sequence."""
    return np.full(n_test, int(np.bincount(train_codes).argmax()), dtype=np.int64)


def padded_matrix(sequences: list[torch.Tensor], length: int) -> torch.Tensor:
    """Sequences flattened to (n, length * features), zero-padded (or cut) to ``length`` steps."""
    features = int(sequences[0].shape[1])
    out = torch.zeros(len(sequences), length, features)
    for i, s in enumerate(sequences):
        out[i, : min(len(s), length)] = s[:length]
    return out.flatten(1)


def nearest_neighbour(
    train: list[torch.Tensor], train_codes: np.ndarray, test: list[torch.Tensor]
) -> np.ndarray:
    """1-nearest-neighbour (Euclidean) class of each test sequence.

    Sequences (already standardised with the training scaler) are zero-padded at the end to the
    longest sequence of either set, so a length difference counts as distance too.
    """
    length = max(len(s) for s in [*train, *test])
    a, b = padded_matrix(train, length), padded_matrix(test, length)  # (n, length * features)
    nearest = [torch.cdist(b[i : i + 512], a).argmin(dim=1) for i in range(0, len(b), 512)]
    return train_codes[torch.cat(nearest).numpy()]


def baseline_reports(
    clf: SequenceClassifier, train: SequenceSet, test: SequenceSet
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The majority-class and 1-NN reports on ``test`` (scaled as the classifier's inputs)."""
    train_codes, test_codes = clf.codes(train.labels), clf.codes(test.labels)
    scaler = SeriesScaler.fit_pooled(train.sequences)
    nn_codes = nearest_neighbour(
        scaler.transform_each(train.sequences), train_codes, scaler.transform_each(test.sequences)
    )
    majority = majority_class(train_codes, len(test_codes))
    return (
        classification_report(test_codes, majority, clf.classes),
        classification_report(test_codes, nn_codes, clf.classes),
    )


def holdout_split(
    data: SequenceSet, test_size: float | int, seed: int
) -> tuple[SequenceSet, SequenceSet]:
    """A stratified random (seeded) training part and test part.

    The split is random, not chronological: sequences are independent examples, so there is no
    time order to respect between them.
    """
    kept, held = stratified_split(data.labels, test_size, seed)
    return data.subset(kept), data.subset(held)


def holdout_metrics(
    clf: SequenceClassifier, train: SequenceSet, test: SequenceSet, seconds: float
) -> dict[str, Any]:
    """metrics.json of a classifier fitted on ``train`` in ``seconds``, scored on ``test``."""
    report = clf.evaluate_sequences(test)
    majority, one_nn = baseline_reports(clf, train, test)
    assert clf.net is not None
    return {
        "task": "classification",
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "majority_accuracy": majority["accuracy"],
        "majority_macro_f1": majority["macro_f1"],
        "nn1_accuracy": one_nn["accuracy"],
        "nn1_macro_f1": one_nn["macro_f1"],
        "nn1_padding": "zero-padded at the end to the longest sequence, after scaling",
        "classes": clf.classes,
        "confusion_matrix": report["confusion_matrix"],
        "n_train": len(train.labels),
        "n_test": len(test.labels),
        "epochs": len(clf.history.records),
        "best_epoch": clf.history.best_epoch,
        "train_seconds": seconds,
        "params": count_parameters(clf.net),
    }
