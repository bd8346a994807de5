"""Speech in, offline: local Whisper from a model directory hears real speech (espeak-ng).

The real-audio tests need a Whisper model directory and espeak-ng (`tests/speech.py`).
"""

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from router.tier0 import Tier0
from router.tools import fast_tools
from shared.bus.screen import UiState
from shared.settings import Settings
from tests.speech import MODEL_DIR, in_a_segment, require_model
from voice.services import VoiceConfigError, make_stt, stt_choice

if TYPE_CHECKING:
    from voice.local_stt import LocalWhisperSTTService


def local_stt(**values: str) -> "LocalWhisperSTTService":
    from voice.local_stt import LocalWhisperSTTService

    stt = make_stt(voice_settings(VOICE_WHISPER_MODEL=MODEL_DIR, **values))
    assert isinstance(stt, LocalWhisperSTTService)
    return stt


def voice_settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_a_named_model_directory_is_the_speech_input() -> None:
    assert stt_choice(voice_settings(VOICE_WHISPER_MODEL=MODEL_DIR)) == "whisper"
    assert stt_choice(voice_settings(VOICE_WHISPER_MODEL="")) == "none"
    with_key = voice_settings(VOICE_WHISPER_MODEL=MODEL_DIR, OPENAI_API_KEY="sk-x")
    assert stt_choice(with_key) == "whisper"


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_a_model_directory_without_a_model_is_a_clear_start_up_error(
    kind: str, tmp_path: Path
) -> None:
    pytest.importorskip("faster_whisper", reason="pip install -e '.[whisper]'")
    where = tmp_path / "nothing-here" if kind == "missing" else tmp_path
    with pytest.raises(VoiceConfigError) as refused:
        make_stt(voice_settings(VOICE_WHISPER_MODEL=str(where)))
    message = str(refused.value)
    assert message.startswith(f"VOICE_WHISPER_MODEL={where}: that directory ")
    assert ("does not exist" if kind == "missing" else "has no model.bin") in message
    assert "faster-whisper model directory" in message


@pytest.mark.parametrize(
    ("said", "tool", "arguments"),
    [
        ("open my notes", "list_notes", {}),
        ("what time is it", "current_time", {}),
        ("set a timer for ten minutes", "set_timer", {"seconds": 600}),
    ],
)
@pytest.mark.usefixtures("whisper_model")
async def test_spoken_commands_are_heard_and_acted_on_by_tier_0(
    said: str, tool: str, arguments: dict[str, object]
) -> None:
    stt = local_stt()
    heard = [t.text async for t in stt.run_stt(await in_a_segment(said)) if hasattr(t, "text")]

    (transcript,) = heard
    call = Tier0(fast_tools()).decide(transcript, UiState())
    assert call is not None, transcript
    assert (call.tool, {k: call.arguments.get(k) for k in arguments}) == (tool, arguments)


def test_every_session_shares_one_loaded_model() -> None:
    require_model(speech=False)
    settings = voice_settings(VOICE_WHISPER_MODEL=MODEL_DIR)
    first, second = make_stt(settings), make_stt(settings)
    assert first is not second
    assert first._model._model is second._model._model  # type: ignore[union-attr]


@pytest.mark.parametrize(("floor", "unsure"), [("-5", False), ("0", True)])
@pytest.mark.usefixtures("whisper_model")
async def test_a_transcript_under_the_confidence_floor_is_marked_unsure(
    floor: str, unsure: bool
) -> None:
    stt = local_stt(VOICE_WHISPER_MIN_CONFIDENCE=floor)
    [frame async for frame in stt.run_stt(await in_a_segment("open my notes"))]

    assert stt.take_unsure() is unsure
    assert stt.take_unsure() is False  # read once a turn


@pytest.mark.usefixtures("whisper_model")
async def test_the_encoder_sees_a_short_window_for_a_command_and_all_of_longer_speech() -> None:
    """A 2 s command is encoded over VOICE_WHISPER_WINDOW_SECONDS (10 s: 500 encoder positions,
    not Whisper's 1,500); 14 s of speech gets a window that holds all of it, and its last words
    are heard."""
    import numpy as np

    from voice.espeak_tts import spoken

    stt = local_stt()
    model = stt._model._model  # type: ignore[union-attr]
    said = "put on some jazz for studying on youtube"
    command = np.frombuffer(await in_a_segment(said), np.int16).astype(np.float32) / 32768
    long_said = (
        "remind me that the plumber comes on tuesday morning and that the car needs new "
        "tyres before the long drive to the coast next month, and that the dentist moved "
        "my appointment to friday afternoon, then open the weather"
    )
    speech = np.frombuffer(await spoken(long_said), np.int16).astype(np.float32) / 32768
    assert len(speech) / 16000 > 10

    def encoded_positions(audio: np.ndarray) -> int:
        features = model.feature_extractor(audio)[..., :-1]
        padded = np.pad(features, ((0, 0), (0, 3000 - features.shape[-1])))
        return int(model.encode(padded).shape[1])

    assert encoded_positions(command) == 500
    assert 500 < encoded_positions(speech) < 1500
    heard = [t.text async for t in stt.run_stt(await in_a_segment(long_said)) if hasattr(t, "text")]
    assert "weather" in " ".join(heard).lower(), heard
