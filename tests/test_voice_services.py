"""Speech services are chosen by env, and a wrong choice fails at start-up with what to do."""

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.settings import Settings
from voice.services import VoiceConfigError, make_stt, make_tts, stt_choice, tts_choice


def settings(**env: Any) -> Settings:
    return Settings(_env_file=None, **env)


@pytest.fixture
def espeak_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """`espeak_on_path(True)`: PATH holds an `espeak-ng` program; False: no espeak-ng at all."""

    def choose(present: bool) -> None:
        if present:
            program = tmp_path / "espeak-ng"
            program.write_text("#!/bin/sh\n")
            program.chmod(0o755)
        monkeypatch.setenv("PATH", str(tmp_path))

    return choose


def test_offline_defaults_are_typed_text_and_espeak(espeak_on_path) -> None:
    espeak_on_path(True)
    offline = settings()
    assert (stt_choice(offline), tts_choice(offline)) == ("none", "espeak")
    assert make_stt(offline) is None


def test_offline_without_espeak_the_replies_are_text_only(espeak_on_path) -> None:
    espeak_on_path(False)
    offline = settings()
    assert tts_choice(offline) == "none"
    assert make_tts(offline) is None


def test_espeak_chosen_but_missing_stops_start_up_with_the_fix(espeak_on_path) -> None:
    espeak_on_path(False)
    with pytest.raises(VoiceConfigError, match="apt-get install espeak-ng"):
        make_tts(settings(VOICE_TTS="espeak"))


def test_with_an_openai_key_speech_defaults_to_openai() -> None:
    keyed = settings(OPENAI_API_KEY="sk-test")
    assert (stt_choice(keyed), tts_choice(keyed)) == ("openai", "openai")
    assert type(make_stt(keyed)).__name__ == "OpenAISTTService"
    assert type(make_tts(keyed)).__name__ == "OpenAITTSService"


def test_openai_speech_without_a_key_names_the_variable() -> None:
    with pytest.raises(VoiceConfigError, match="VOICE_TTS=openai needs OPENAI_API_KEY"):
        make_tts(settings(VOICE_TTS="openai"))
    with pytest.raises(VoiceConfigError, match="VOICE_STT=openai needs OPENAI_API_KEY"):
        make_stt(settings(VOICE_STT="openai"))


@pytest.mark.skipif(importlib.util.find_spec("piper") is not None, reason="piper is installed")
def test_a_missing_extra_names_what_to_install() -> None:
    with pytest.raises(VoiceConfigError, match=r"pip install 'pipecat-ai\[piper\]==1.14.0'"):
        make_tts(settings(VOICE_TTS="piper"))


def test_an_unknown_choice_is_rejected_at_start_up() -> None:
    with pytest.raises(ValueError, match="VOICE_TTS"):
        settings(VOICE_TTS="shouting")


@pytest.mark.parametrize(
    ("env", "policy", "wait"),
    [
        ({}, "silence", "silence"),
        ({"VOICE_TURN_SILENCE_SECS": "1.2"}, "silence", 1.0),
        ({"VOICE_SMART_TURN": "true", "VOICE_TURN_SILENCE_SECS": "1"}, "Smart Turn", 1.0),
    ],
)
def test_the_turn_stop_policy_is_the_one_the_settings_name(
    env: dict[str, str], policy: str, wait: float | str
) -> None:
    """VOICE_SMART_TURN picks Smart Turn or a silence timeout; VOICE_TURN_SILENCE_SECS is the
    silence that ends a turn either way (counted from the speech, the VAD's 0.2 s included)."""
    from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
    from pipecat.turns.user_stop import (
        SpeechTimeoutUserTurnStopStrategy,
        TurnAnalyzerUserTurnStopStrategy,
    )

    from voice.turn_taking import turn_strategies

    configured = settings(**env)
    (stop,) = turn_strategies(configured).stop or []
    if policy == "Smart Turn":
        assert isinstance(stop, TurnAnalyzerUserTurnStopStrategy)
        params = stop._turn_analyzer.params
        assert isinstance(params, SmartTurnParams)
        assert params.stop_secs == wait
        return
    assert isinstance(stop, SpeechTimeoutUserTurnStopStrategy)
    expected = configured.voice_turn_silence_secs - 0.2 if wait == "silence" else wait
    assert stop._user_speech_timeout == pytest.approx(expected)
