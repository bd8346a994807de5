"""Speech to text on this machine: Whisper (faster-whisper) from a model directory, offline.

VOICE_WHISPER_MODEL names a faster-whisper (CTranslate2) model directory, or a model name that
faster-whisper downloads on first use. A directory is checked at start-up, so a missing model
is a clear error naming the setting, not a failed download mid-conversation.

Decoding is greedy, without timestamps and without conditioning on earlier text (a command
is one short segment). Measured with Whisper base int8 on 2 cores by `bench/spoken_commands.py`
(espeak-ng speech): 54 commands on idle cores, STT p50 740 ms against 862 ms for
faster-whisper's default beam 5, tier-0 coverage 37.0 % against 38.9 %; all 427 commands, with
other work on the machine, 816 against 796 ms and 45.7 % against 47.3 %: a small gain in time
at best, at a cost in accuracy within noise.

The encoder's 30 s window is the cost: faster-whisper pads every segment to 30 s (its
`chunk_length` option does not change that), and on 2 cores the encoder takes ~0.7 s of a
~0.9 s transcription whatever the command's length. `WindowedWhisperModel` hands the encoder
only the audio plus padding up to VOICE_WHISPER_WINDOW_SECONDS (10 s: encoder 0.15 s, the whole
transcription ~0.25 s); the accuracy this costs is measured in `bench/spoken_commands.py`.
"""

import functools
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import WhisperModel
from pipecat.services.whisper.stt import WhisperSTTService

from shared.settings import Settings

FAST_DECODING: dict[str, Any] = {
    "beam_size": 1,
    "without_timestamps": True,
    "condition_on_previous_text": False,
}
"""faster-whisper `transcribe` options for one short command (see the module docstring)."""
MODEL_FILES = ("model.bin", "config.json")
GET_A_MODEL = (
    "set VOICE_WHISPER_MODEL to a faster-whisper model directory (CTranslate2 format, with "
    "model.bin, config.json and the tokenizer, e.g. Systran/faster-whisper-base from Hugging "
    "Face), or to a model name such as 'base.en' to download it on first use (needs internet)"
)


def model_problem(model: str) -> str | None:
    """Why `model` (a directory, or a name to download) cannot be loaded; None when it can
    be tried. Names are left to faster-whisper; a path must hold a model."""
    path = Path(model).expanduser()
    if not (path.is_absolute() or model.startswith((".", "~")) or path.exists()):
        return None
    missing = [name for name in MODEL_FILES if not (path / name).is_file()]
    if not missing:
        return None
    where = "does not exist" if not path.exists() else f"has no {' or '.join(missing)}"
    return f"VOICE_WHISPER_MODEL={model}: that directory {where}; {GET_A_MODEL}"


class _FastTranscribe:
    """A faster-whisper model whose `transcribe` decodes with FAST_DECODING (Pipecat's service
    calls `transcribe` with its own few options and faster-whisper's defaults for the rest) and
    notes when a transcript's least sure segment is under `floor`."""

    def __init__(self, model: Any, floor: float) -> None:
        self._model = model
        self._floor = floor
        self.unsure = False
        """Set by a transcript under the floor; read and cleared once a turn (`take_unsure`)."""

    def transcribe(self, audio: Any, **options: Any) -> Any:
        segments, info = self._model.transcribe(audio, **{**FAST_DECODING, **options})
        segments = list(segments)  # Pipecat consumes them in this same worker thread
        if any(segment.avg_logprob < self._floor for segment in segments):
            self.unsure = True
        return segments, info

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


FRAMES_PER_SECOND = 100
"""Whisper's mel frames per second of audio (10 ms hop)."""
WHISPER_WINDOW_FRAMES = 30 * FRAMES_PER_SECOND


class WindowedWhisperModel(WhisperModel):
    """A faster-whisper model whose encoder sees the audio plus padding up to `window_seconds`
    rather than always Whisper's 30 s (see the module docstring)."""

    def __init__(self, *args: Any, window_seconds: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window_frames = window_seconds * FRAMES_PER_SECOND

    def encode(self, features: np.ndarray) -> Any:
        """Encode the features up to the window: faster-whisper pads a segment to 30 s with
        whole columns of zeros (`pad_or_trim`), which no frame of real audio is."""
        heard = np.flatnonzero(features.reshape(-1, features.shape[-1]).any(axis=0))
        content = int(heard[-1]) + 1 if heard.size else 0
        frames = min(WHISPER_WINDOW_FRAMES, max(self.window_frames, content + content % 2))
        return super().encode(features[..., :frames])


@functools.cache
def _shared_model(model: str, device: str, compute_type: str, window_seconds: int) -> Any:
    """One loaded model per process, whatever the number of sessions: Pipecat's service loads
    its own per session (0.8 s and the model's memory each time)."""
    return WindowedWhisperModel(
        model, device=device, compute_type=compute_type, window_seconds=window_seconds
    )


class LocalWhisperSTTService(WhisperSTTService):
    """Pipecat's Whisper service on the process's one model, with fast decoding, that says
    when it was unsure of a turn's words."""

    def __init__(self, *, min_confidence: float, window_seconds: int, **kwargs: Any) -> None:
        self._min_confidence = min_confidence
        self._window_seconds = window_seconds
        super().__init__(**kwargs)

    def _load(self) -> None:
        name = str(self._settings.model)  # type: ignore[attr-defined]
        model = _shared_model(name, self._device, self._compute_type, self._window_seconds)
        self._model = _FastTranscribe(model, self._min_confidence)

    def take_unsure(self) -> bool:
        """Whether any transcript since the last call was under the confidence floor."""
        fast: _FastTranscribe = self._model  # type: ignore[assignment]
        unsure, fast.unsure = fast.unsure, False
        return unsure


def local_whisper(settings: Settings) -> WhisperSTTService:
    """The local STT the settings describe; ValueError with what to set when it cannot load."""
    model = settings.voice_whisper_model or "base.en"
    problem = model_problem(model)
    if problem:
        raise ValueError(problem)
    return LocalWhisperSTTService(
        settings=WhisperSTTService.Settings(model=model),
        device=settings.voice_whisper_device,
        compute_type=settings.voice_whisper_compute_type,
        min_confidence=settings.voice_whisper_min_confidence,
        window_seconds=settings.voice_whisper_window_seconds,
    )
