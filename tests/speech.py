"""Real speech for the tests: espeak-ng says it, a local Whisper model directory hears it.

HYBRIDBOT_WHISPER_MODEL names the faster-whisper model directory (default where
`../shared/tools/local-stt.sh setup` puts Whisper base); tests that need it, or espeak-ng,
skip with the reason without them, and CI provides both.
"""

import asyncio
import os
import shutil
import time
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
from pipecat.frames.frames import InputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner

from tests.conftest import require

MODEL_DIR = os.environ.get("HYBRIDBOT_WHISPER_MODEL", "/var/tmp/local-stt/whisper-base")


def require_model(speech: bool = True) -> None:
    """Skip (fail in CI) without the model directory, or espeak-ng when `speech` is needed."""
    if speech:
        require(None if shutil.which("espeak-ng") else "espeak-ng is not installed")
    model = Path(MODEL_DIR) / "model.bin"
    require(None if model.is_file() else f"no Whisper model at {MODEL_DIR}")


def silence(seconds: float, rate: int = 16000) -> bytes:
    return bytes(int(seconds * rate) * 2)


async def in_a_segment(said: str) -> bytes:
    """`said` by espeak-ng as a VAD segment holds it: with a moment of silence either side."""
    from voice.espeak_tts import spoken

    return silence(0.3) + await spoken(said) + silence(0.3)


async def wav_of(said: str, path: Path, lead: float, tail: float, rate: int = 48000) -> Path:
    """A mono 16-bit WAV file of `said` between `lead` and `tail` seconds of silence."""
    from voice.espeak_tts import spoken

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(silence(lead, rate) + await spoken(said, rate) + silence(tail, rate))
    return path


RATE = 16_000
FRAME = RATE // 50
"""Samples per microphone frame (20 ms, as WebRTC delivers them)."""
SOUND = 500
"""A sample above this (int16) is sound, not silence."""


def sounding(pcm: np.ndarray) -> np.ndarray:
    """Indices of the samples of 16-bit `pcm` that are sound, not silence."""
    return np.flatnonzero(np.abs(pcm.astype(np.int32)) > SOUND)


class Microphone:
    """A microphone for a pipeline: 20 ms frames in real time, the speech it was given to say,
    else silence, as a browser's microphone goes on sending."""

    def __init__(self, worker: PipelineWorker) -> None:
        self.worker = worker
        self.queue: asyncio.Queue[tuple[np.ndarray, asyncio.Future[float]]] = asyncio.Queue()
        self.stop = asyncio.Event()

    def say(self, pcm: bytes | np.ndarray) -> "asyncio.Future[float]":
        """Queue 16 kHz speech; the future gives when its last sound was captured (wall
        clock: the moment a user stops speaking)."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        samples = np.frombuffer(pcm, np.int16) if isinstance(pcm, bytes) else pcm
        self.queue.put_nowait((samples, done))
        return done

    async def run(self) -> None:
        """Until `stop` is set."""
        started, pushed = time.monotonic(), 0
        pending = np.zeros(0, np.int16)
        while not self.stop.is_set():
            if not pending.size and not self.queue.empty():
                pending, done = self.queue.get_nowait()
                loud = sounding(pending)
                last = (pushed * FRAME + int(loud[-1]) + 1) / RATE if loud.size else 0.0
                done.set_result(time.time() + started + last - time.monotonic())
            frame, pending = pending[:FRAME], pending[FRAME:]
            frame = np.pad(frame, (0, FRAME - frame.size))
            pushed += 1
            await asyncio.sleep(max(0.0, started + pushed * FRAME / RATE - time.monotonic()))
            await self.worker.queue_frame(InputAudioRawFrame(frame.tobytes(), RATE, 1))


@asynccontextmanager
async def listening(pipeline: Pipeline) -> AsyncIterator[Microphone]:
    """`pipeline` running as a voice session does (16 kHz in), with a microphone feeding it;
    on exit the microphone stops and the pipeline is cancelled."""
    worker = PipelineWorker(pipeline, params=PipelineParams(audio_in_sample_rate=RATE))
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    microphone = Microphone(worker)
    sending = asyncio.create_task(microphone.run())
    try:
        yield microphone
    finally:
        microphone.stop.set()
        await sending
        await worker.cancel()
        await running
