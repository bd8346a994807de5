"""When a spoken turn ends: the VAD's silence window, then Smart Turn or a silence timeout.

Silero VAD reports the user stopped after 0.2 s of quiet (Pipecat's default, which its STT
latency figures assume); local Whisper starts transcribing then, while the turn-stop policy
decides whether the user is done:

- `VOICE_SMART_TURN=true`: Smart Turn v3.2 (the model Pipecat ships) judges the speech so far;
  judged complete, the turn ends at once; judged unfinished, it waits for more speech up to
  VOICE_TURN_SILENCE_SECS of silence.
- `false`: the turn ends after VOICE_TURN_SILENCE_SECS of silence.

The defaults are chosen in `bench/turn_taking.py` (wait after the last word against turns cut
in two by a pause); its figures are in docs/voice.md.
"""

from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.vad_analyzer import VAD_STOP_SECS, VADAnalyzer, VADParams
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from shared.settings import Settings
from voice.vad import SharedSileroVAD


def turn_vad() -> VADAnalyzer:
    """The session's VAD: Silero on the process's shared model, stopping after 0.2 s."""
    return SharedSileroVAD(params=VADParams(stop_secs=VAD_STOP_SECS))


def turn_strategies(settings: Settings) -> UserTurnStrategies:
    """How the session decides a turn is over (module docstring)."""
    silence = settings.voice_turn_silence_secs
    if settings.voice_smart_turn:
        analyzer = LocalSmartTurnAnalyzerV3(params=SmartTurnParams(stop_secs=silence))
        return UserTurnStrategies(stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=analyzer)])
    timeout = max(0.0, silence - VAD_STOP_SECS)
    return UserTurnStrategies(stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=timeout)])
