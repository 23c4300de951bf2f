"""The character-level language model: corpus, network, estimator (CharLM) and sampling."""

from rnnkit.text.charlm import CharLM

__all__ = ["CharLM"]
