"""8. The voice side (P7): what the Pipecat pipeline adds at each end of a turn.

- End of the user's turn → the turn on the Redis stream: typed text (`RTVISendTextFrame`) and a
  spoken turn (VAD stop after a transcript, through Pipecat's user aggregator, whose default
  turn-stop strategy decides when the turn ended).
- The router's first text chunk published → the first TTS audio frame out of espeak-ng.

Frames are driven with Pipecat's `run_test`; a reader in the same process times the stream.
"""

import asyncio
import shutil
import sys
import time

import redis.asyncio as aioredis
from loguru import logger
from pipecat.frames.frames import (
    Frame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.processors.frameworks.rtvi.frames import RTVISendTextFrame
from pipecat.tests.utils import run_test

from bench.common import fresh_redis, summary
from shared.bus import keys
from shared.bus.connection import read_entries
from shared.bus.session_link import SessionLink
from shared.messages import ResponseDone, TextChunk
from tests.fakes.pipeline import BusEvents, BusInjector, WaitUntil
from voice.pipeline import user_turns_to_redis
from voice.turn_processor import TurnProcessor

SAMPLES = 30
TIMEOUT_S = 10.0


class Stamp(FrameProcessor):
    """Notes when frames of the given types pass (wall clock), and passes every frame on."""

    def __init__(self, *types: type[Frame]) -> None:
        super().__init__()
        self.types = types
        self.times: list[float] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, self.types):
            self.times.append(time.time())
        await self.push_frame(frame, direction)


async def stream_arrivals(client: aioredis.Redis, count: int) -> list[float]:
    """When each of the next `count` turns landed on the stream (blocking XREAD)."""
    arrivals: list[float] = []
    last = "$"
    while len(arrivals) < count:
        reply = await client.xread({keys.TURNS_STREAM: last}, block=int(TIMEOUT_S * 1000))
        for entry_id, _fields in read_entries(reply):
            arrivals.append(time.time())
            last = entry_id
    return arrivals


async def typed_to_stream(client: aioredis.Redis) -> dict:
    """Typed text entering the pipeline → the turn on the stream, one turn at a time."""
    async with SessionLink(client, "p7-typed") as link:
        user_aggregator, turn_processor = user_turns_to_redis(link)
        stamp = Stamp(RTVISendTextFrame)
        arrivals = asyncio.create_task(stream_arrivals(client, SAMPLES))
        await asyncio.sleep(0.1)  # ok-sleep: let the reader issue its XREAD before any turn
        frames: list[Frame] = []
        for n in range(SAMPLES):

            async def landed(n: int = n) -> bool:
                return await client.xlen(keys.TURNS_STREAM) > n

            frames += [RTVISendTextFrame(msg_id=f"m{n}", text=f"song {n}"), WaitUntil(landed)]
        injector = BusInjector(client, turn_processor)  # holds each frame until its turn landed
        pipeline = Pipeline([injector, stamp, user_aggregator, turn_processor])
        await run_test(pipeline, frames_to_send=frames)
        times = await asyncio.wait_for(arrivals, TIMEOUT_S)
    return summary([(a - s) * 1000 for s, a in zip(stamp.times, times, strict=True)])


def stamp_sends(turn_processor: TurnProcessor) -> list[float]:
    """When `send_turn` is called from now on (the moment the turn was decided)."""
    decided: list[float] = []
    send = turn_processor.send_turn

    async def stamped_send(text: str) -> None:
        decided.append(time.time())
        await send(text)

    vars(turn_processor)["send_turn"] = stamped_send  # this instance only
    return decided


async def spoken_to_stream(client: aioredis.Redis) -> dict:
    """A spoken turn, from the moment Pipecat's user aggregator decides it ended (its
    `on_user_turn_stopped`; how long that takes is the turn-detection policy, not measured
    here) → the turn on the stream. One pipeline per sample: without audio, the aggregator ends
    the turn when the pipeline ends."""
    times = []
    async with SessionLink(client, "p7-spoken") as link:
        for n in range(SAMPLES):
            user_aggregator, turn_processor = user_turns_to_redis(link)
            decided = stamp_sends(turn_processor)
            arrivals = asyncio.create_task(stream_arrivals(client, 1))
            await asyncio.sleep(0.05)  # ok-sleep: let the reader issue its XREAD first
            frames: list[Frame] = [
                VADUserStartedSpeakingFrame(),
                TranscriptionFrame(f"play song number {n}", "user", "2026-12-03T00:00:00"),
                VADUserStoppedSpeakingFrame(),
            ]
            await run_test(Pipeline([user_aggregator, turn_processor]), frames_to_send=frames)
            (landed,) = await asyncio.wait_for(arrivals, TIMEOUT_S)
            times.append((landed - decided[0]) * 1000)
    return summary(times)


async def chunk_to_audio(client: aioredis.Redis) -> dict:
    from voice.espeak_tts import EspeakTTSService

    async with SessionLink(client, "p7-out") as link:
        turn_processor = TurnProcessor(link)
        audio = Stamp(TTSAudioRawFrame)
        spoken = Stamp(TTSStoppedFrame)
        published: list[float] = []
        frames: list[Frame] = []
        for n in range(SAMPLES):
            response = f"reply-{n}"
            chunk = TextChunk(
                session_id="p7-out", response_id=response, seq=0, text="Your notes are open."
            )
            done = ResponseDone(session_id="p7-out", response_id=response, seq=1)
            frames.append(BusEvents([chunk, done]))

            def first_audio_of(n: int = n) -> WaitUntil:
                async def first_audio() -> bool:  # and the last: the next reply starts clean
                    return len(spoken.times) > n

                return WaitUntil(first_audio)

            frames.append(first_audio_of())
        injector = TimedInjector(client, turn_processor, published)
        pipeline = Pipeline([injector, turn_processor, EspeakTTSService(), audio, spoken])
        await run_test(pipeline, frames_to_send=frames, ignore_start=True)
    firsts = _firsts(audio.times, published)
    return summary([(a - p) * 1000 for p, a in zip(published, firsts, strict=True)])


class TimedInjector(BusInjector):
    """Publishes bus events as the routers would, noting when each batch went out."""

    def __init__(
        self, redis: aioredis.Redis, turn_processor: TurnProcessor, published: list[float]
    ) -> None:
        super().__init__(redis, turn_processor)
        self.published = published

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, BusEvents):
            self.published.append(time.time())
        await super().process_frame(frame, direction)


def _firsts(audio_times: list[float], published: list[float]) -> list[float]:
    """For each publish time, the first audio frame after it."""
    return [next(t for t in audio_times if t >= p) for p in published if audio_times[-1:] >= [p]]


async def run() -> dict:
    logger.remove()  # Pipecat's per-frame debug log would be most of this benchmark's time
    logger.add(sys.stderr, level="ERROR")
    client = await fresh_redis()
    try:
        results: dict = {
            "typed_to_stream_ms": await typed_to_stream(client),
            "spoken_to_stream_ms": await spoken_to_stream(client),
        }
        if shutil.which("espeak-ng"):
            results["chunk_to_audio_ms"] = await chunk_to_audio(client)
        else:
            results["chunk_to_audio_ms"] = None
            print("8. chunk → audio skipped: no espeak-ng (apt-get install espeak-ng)")
    finally:
        await client.aclose()
    return results


if __name__ == "__main__":
    print(asyncio.run(run()))
