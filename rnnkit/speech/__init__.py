"""Spoken-digit recognition: log-mel features, a recurrent CTC acoustic model, streaming.

See docs/speech.md. The pieces: :mod:`.features` (WAV reading, log-mel, SpecAugment),
:mod:`.data` (FSDD splits, isolated and connected digits), :mod:`.model` (the acoustic model and
its CTC loss), :mod:`.decode` (greedy and beam decoding, digit error rate), :mod:`.recognizer`
(the fit/evaluate/transcribe/save/load API), :mod:`.stream` (streaming transcription).
"""

from rnnkit.speech.recognizer import DigitRecognizer, RecognizerConfig, streaming_config

__all__ = ["DigitRecognizer", "RecognizerConfig", "streaming_config"]
