"""The offline TTS makes real audio: non-empty 16-bit PCM at the pipeline's output rate."""

import shutil

import pytest
from pipecat.frames.frames import TTSAudioRawFrame, TTSSpeakFrame
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import run_test

from voice.espeak_tts import EspeakTTSService

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None and not __import__("os").environ.get("CI"),
    reason="espeak-ng is not installed (apt-get install espeak-ng); CI installs it",
)


async def test_espeak_speaks_real_audio_at_the_output_rate() -> None:
    tts = EspeakTTSService()
    down, _up = await run_test(
        tts,
        frames_to_send=[TTSSpeakFrame("Opened your notes.")],
        pipeline_params=PipelineParams(audio_out_sample_rate=16000),
    )
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert audio
    pcm = b"".join(f.audio for f in audio)
    assert all(f.sample_rate == 16000 and f.num_channels == 1 for f in audio)
    # Half a second of speech at least, and not silence.
    assert len(pcm) > 16000
    assert (
        max(
            abs(int.from_bytes(pcm[i : i + 2], "little", signed=True))
            for i in range(0, len(pcm), 2)
        )
        > 1000
    )
