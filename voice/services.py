"""Speech services chosen by VOICE_STT and VOICE_TTS, failing early with what to install or set.

OpenAI's STT and TTS are the default when OPENAI_API_KEY is set; offline, speech input is off
(typed text still works) and espeak-ng speaks when it is installed; without it the replies are
shown as text only. Local Whisper loads its model from VOICE_WHISPER_MODEL (a directory: offline);
Piper and Kokoro download their models on first use.
"""

import importlib
import shutil
from typing import Any

from pipecat.processors.frame_processor import FrameProcessor

from shared.settings import Settings
from voice.espeak_tts import ESPEAK


class VoiceConfigError(RuntimeError):
    """The chosen speech service cannot start; the message says what to set or install."""


def _load(module: str, name: str, extra: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise VoiceConfigError(
            f"{name} needs an extra: pip install 'pipecat-ai[{extra}]==1.14.0' ({exc})"
        ) from exc


def _openai_key(settings: Settings, variable: str) -> str:
    if settings.openai_api_key is None:
        raise VoiceConfigError(f"{variable}=openai needs OPENAI_API_KEY")
    return settings.openai_api_key.get_secret_value()


def stt_choice(settings: Settings) -> str:
    """The configured STT; unset, a local Whisper model if one is named, else OpenAI's with a
    key, else none."""
    if settings.voice_stt:
        return settings.voice_stt
    if settings.voice_whisper_model:
        return "whisper"
    return "openai" if settings.openai_api_key else "none"


SPEECH_OUTPUT_OFF = (
    "Speech output is off: replies are shown as text only. To hear them, install espeak-ng "
    "(apt-get install espeak-ng) or set OPENAI_API_KEY or VOICE_TTS, then restart the voice "
    "service."
)
"""Said once to the log and once to each browser session when no TTS is available."""


def tts_choice(settings: Settings) -> str:
    """The configured TTS; unset, the best one this machine has (`none`: text only)."""
    if settings.voice_tts:
        return settings.voice_tts
    if settings.openai_api_key:
        return "openai"
    return "espeak" if shutil.which(ESPEAK) else "none"


def make_stt(settings: Settings) -> FrameProcessor | None:
    """The speech-to-text service, or None when speech input is off."""
    match stt_choice(settings):
        case "openai":
            service = _load("pipecat.services.openai.stt", "OpenAISTTService", "openai")
            return service(api_key=_openai_key(settings, "VOICE_STT"))
        case "whisper":
            local_whisper = _load("voice.local_stt", "local_whisper", "whisper")
            try:
                return local_whisper(settings)
            except ValueError as exc:
                raise VoiceConfigError(str(exc)) from exc
        case _:
            return None


def make_tts(settings: Settings) -> FrameProcessor | None:
    """The text-to-speech service, or None when speech output is off."""
    match tts_choice(settings):
        case "openai":
            service = _load("pipecat.services.openai.tts", "OpenAITTSService", "openai")
            return service(api_key=_openai_key(settings, "VOICE_TTS"))
        case "piper":
            return _load("pipecat.services.piper.tts", "PiperTTSService", "piper")()
        case "kokoro":
            return _load("pipecat.services.kokoro.tts", "KokoroTTSService", "kokoro")()
        case "espeak":
            from voice.espeak_tts import EspeakTTSService

            try:
                return EspeakTTSService()
            except RuntimeError as exc:
                raise VoiceConfigError(str(exc)) from exc
        case _:
            return None
