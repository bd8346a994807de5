"""Text to speech with the `espeak-ng` program: robotic, but offline with nothing to download.

The offline default TTS. Text goes to espeak-ng on stdin (never on its command line), and the
WAV it writes is resampled to the pipeline's output rate.
"""

import asyncio
import io
import shutil
import wave
from collections.abc import AsyncGenerator
from typing import Any

from pipecat.audio.utils import create_file_resampler, create_stream_resampler
from pipecat.frames.frames import ErrorFrame, Frame, TTSAudioRawFrame
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService

ESPEAK = "espeak-ng"
MAX_TEXT_CHARS = 5000


async def espeak_pcm(
    binary: str, text: str, voice: str = "en-us", words_per_minute: int = 175, ssml: bool = False
) -> tuple[bytes, int]:
    """What espeak-ng says for `text` (SSML markup read as such with `ssml`): 16-bit mono PCM
    and its sample rate."""
    process = await asyncio.create_subprocess_exec(
        binary,
        *(["-m"] if ssml else []),
        "--stdout",
        "-v",
        voice,
        "-s",
        str(words_per_minute),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate(text[:MAX_TEXT_CHARS].encode())
    if process.returncode != 0:
        raise RuntimeError(f"espeak-ng exited {process.returncode}: {errors.decode()[:200]}")
    with wave.open(io.BytesIO(output)) as audio:
        return audio.readframes(audio.getnframes()), audio.getframerate()


async def spoken(text: str, sample_rate: int = 16000, ssml: bool = False) -> bytes:
    """`text` as espeak-ng says it, at `sample_rate`: real speech for tests and benchmarks
    (with `ssml`, e.g. `<speak>set a timer <break time="400ms"/> for ten minutes</speak>`)."""
    binary = shutil.which(ESPEAK)
    if binary is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    pcm, rate = await espeak_pcm(binary, text, ssml=ssml)
    return await create_file_resampler().resample(pcm, rate, sample_rate)


class EspeakTTSService(TTSService):
    """A Pipecat TTS service that runs `espeak-ng --stdout` once per sentence."""

    def __init__(self, *, voice: str = "en-us", words_per_minute: int = 175, **kwargs: Any):
        binary = shutil.which(ESPEAK)
        if binary is None:
            raise RuntimeError(
                "VOICE_TTS=espeak needs the espeak-ng program: apt-get install espeak-ng"
            )
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model=None, voice=voice, language=None),
            **kwargs,
        )
        self._binary = binary
        self._voice = voice
        self._words_per_minute = words_per_minute
        self._resampler = create_stream_resampler()

    def can_generate_metrics(self) -> bool:
        return True

    async def _synthesize(self, text: str) -> tuple[bytes, int]:
        return await espeak_pcm(self._binary, text, self._voice, self._words_per_minute)

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        try:
            await self.start_tts_usage_metrics(text)
            pcm, rate = await self._synthesize(text)
            await self.stop_ttfb_metrics()
            audio = await self._resampler.resample(pcm, rate, self.sample_rate)
            yield TTSAudioRawFrame(
                audio=audio, sample_rate=self.sample_rate, num_channels=1, context_id=context_id
            )
        except (OSError, RuntimeError, wave.Error) as exc:
            yield ErrorFrame(error=f"espeak-ng failed: {exc}")
        finally:
            await self.stop_ttfb_metrics()
