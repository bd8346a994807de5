"""Silero VAD for every session of the voice service from one ONNX Runtime session.

Pipecat's `SileroVADAnalyzer` builds an `onnxruntime.InferenceSession` per analyzer, so one per
browser session. The session holds only the model (each analyzer keeps its own recurrent state
and passes it in on every call), but its native memory is freed into glibc's heaps in pieces the
allocator does not give back: with 16 WebRTC sessions, 4 at a time (connect, one turn, hang
up), the voice process grew 350 → 525 MB with a session per analyzer and 285 → 381 MB with one
shared session, neither returning memory (`bench/voice_memory_probe.py` reproduces both). ONNX
Runtime's `run` is safe to call from several threads at once.
"""

import functools
from typing import Any

from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams

MODEL_PACKAGE, MODEL_NAME = "pipecat.audio.vad.data", "silero_vad.onnx"


@functools.cache
def _shared_session() -> Any:  # an onnxruntime.InferenceSession (untyped package)
    """The process's one session of the Silero model, built as Pipecat builds its own."""
    from importlib import resources

    path = str(resources.files(MODEL_PACKAGE).joinpath(MODEL_NAME))
    return SileroOnnxModel(path, force_onnx_cpu=True).session


class _ModelOnSharedSession(SileroOnnxModel):
    """Pipecat's model wrapper (input checks, state, context) over the shared session."""

    def __init__(self) -> None:  # Pipecat's __init__ would build a session of its own
        self.session = _shared_session()
        self.reset_states()
        self.sample_rates = [8000, 16000]


class SharedSileroVAD(SileroVADAnalyzer):
    """`SileroVADAnalyzer` as Pipecat 1.14 builds it, on the shared model session."""

    def __init__(self, *, sample_rate: int | None = None, params: VADParams | None = None):
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)
        self._model = _ModelOnSharedSession()
        self._windows_since_reset = 0
        self._low_confidence_windows = 0
