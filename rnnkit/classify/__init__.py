"""Sequence classification: variable-length sequences, the SequenceClassifier, its evaluation."""

from rnnkit.classify.classifier import SequenceClassifier

__all__ = ["SequenceClassifier"]
