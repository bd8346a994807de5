"""The voice side's bridge: what a session missed while away is heard once when it returns."""

import asyncio

import redis.asyncio as aioredis

from shared.events import ResponsePublisher
from shared.messages import AnyBotEvent, TextChunk
from voice.bridge import SessionBridge


async def next_events(bridge: SessionBridge, count: int) -> list[AnyBotEvent]:
    events: list[AnyBotEvent] = []

    async def collect() -> None:
        async for event in bridge.events():
            events.append(event)
            if len(events) == count:
                return

    await asyncio.wait_for(collect(), 5)
    return events


async def test_missed_task_results_are_replayed_once(redis_client: aioredis.Redis) -> None:
    away = ResponsePublisher(redis_client, "s1", "task-1", origin="task", durable=True)
    await away.text("The answer arrived while you were away.")
    await away.done()

    async with SessionBridge(redis_client, "s1") as bridge:
        replayed = await next_events(bridge, 2)
        live = ResponsePublisher(redis_client, "s1", "task-2", origin="task", durable=True)
        await live.text("And this one while you listened.")
        (heard_live,) = await next_events(bridge, 1)

    assert isinstance(replayed[0], TextChunk) and replayed[0].text.startswith("The answer arrived")
    assert [e.seq for e in replayed] == [0, 1]
    assert isinstance(heard_live, TextChunk) and heard_live.response_id == "task-2"

    async with SessionBridge(redis_client, "s1") as again:
        assert [e async for e in again.missed_events()] == []
