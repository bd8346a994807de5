"""Test stages for Pipecat pipelines: bot events injected on the bus, waits on conditions."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from pipecat.frames.frames import Frame, SystemFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from shared.bus import keys
from shared.messages import AnyBotEvent
from voice.turn_processor import TurnProcessor

WAIT_TIMEOUT = 10.0


@dataclass
class BusEvents(SystemFrame):
    """Publish these bot events on their session's channel, as routers and workers would."""

    events: list[AnyBotEvent] = field(default_factory=list)


@dataclass
class WaitUntil(SystemFrame):
    """Hold the test's frame sequence until `condition()` is true (with a deadline)."""

    condition: Callable[[], Awaitable[bool]] | None = None


class BusInjector(FrameProcessor):
    """Placed before the link: publishes `BusEvents` and waits until the link took them."""

    def __init__(self, redis: aioredis.Redis, turn_processor: TurnProcessor) -> None:
        super().__init__()
        self.redis = redis
        self.turn_processor = turn_processor

    def _taken(self, event: AnyBotEvent) -> bool:
        link = self.turn_processor
        return (
            event.response_id in link.dropped
            or link.last_seq.get(event.response_id, -1) >= event.seq
        )

    async def _wait(self, condition: Callable[[], Awaitable[bool]]) -> None:
        async def poll() -> None:
            while not await condition():
                await asyncio.sleep(0.005)  # ok-sleep: polling with a deadline

        await asyncio.wait_for(poll(), WAIT_TIMEOUT)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, BusEvents):
            for event in frame.events:
                channel = keys.session_events(event.session_id)
                await self.redis.publish(channel, event.model_dump_json())

            async def all_taken() -> bool:
                return all(self._taken(e) for e in frame.events)

            await self._wait(all_taken)
        elif isinstance(frame, WaitUntil) and frame.condition is not None:
            await self._wait(frame.condition)
        else:
            await self.push_frame(frame, direction)
