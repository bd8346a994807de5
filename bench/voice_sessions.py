"""Helper of the memory benchmark: one process holding N voice pipelines (user aggregator,
Redis link, espeak TTS) for a moment, as the voice service does with N browser sessions.

    python -m bench.voice_sessions N     prints this process's peak RSS in MiB
"""

import asyncio
import os
import sys

from pipecat.frames.frames import EndFrame, TTSSpeakFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner

from bench.common import peak_rss_mb, redis_url
from shared.bus.connection import connect_redis
from shared.bus.session_link import SessionLink
from voice.espeak_tts import EspeakTTSService
from voice.pipeline import user_turns_to_redis


async def hold(sessions: int) -> None:
    redis = connect_redis(redis_url())
    workers = []
    bridges = []
    for index in range(sessions):
        link = await SessionLink(redis, f"memory-{index}").__aenter__()
        bridges.append(link)
        user_aggregator, turn_processor = user_turns_to_redis(link)
        pipeline = Pipeline([user_aggregator, turn_processor, EspeakTTSService()])
        workers.append(PipelineWorker(pipeline, params=PipelineParams(audio_out_sample_rate=16000)))
    runner = WorkerRunner(handle_sigint=False)
    running = [asyncio.create_task(runner.run(worker)) for worker in workers]
    for worker in workers:
        await worker.queue_frames([TTSSpeakFrame("Hello, this is a test."), EndFrame()])
    await asyncio.gather(*running)
    for link in bridges:
        await link.__aexit__(None, None, None)
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(hold(int(sys.argv[1])))
    print(f"{peak_rss_mb(os.getpid()):.1f}")
