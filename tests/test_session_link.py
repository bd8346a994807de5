"""The voice side's link: what a session missed while away is heard once when it returns."""

import asyncio

import redis.asyncio as aioredis

from shared.bus.responses import DurableResponse
from shared.bus.session_link import SessionLink
from shared.messages import AnyBotEvent, TextChunk


async def next_events(link: SessionLink, count: int) -> list[AnyBotEvent]:
    events: list[AnyBotEvent] = []

    async def collect() -> None:
        async for event in link.events():
            events.append(event)
            if len(events) == count:
                return

    await asyncio.wait_for(collect(), 5)
    return events


async def test_missed_task_results_are_replayed_once(redis_client: aioredis.Redis) -> None:
    away = DurableResponse(redis_client, "s1", "task-1", origin="task")
    await away.text("The answer arrived while you were away.")
    await away.done()

    async with SessionLink(redis_client, "s1") as link:
        replayed = await next_events(link, 2)
        live = DurableResponse(redis_client, "s1", "task-2", origin="task")
        await live.text("And this one while you listened.")
        (heard_live,) = await next_events(link, 1)

    assert isinstance(replayed[0], TextChunk) and replayed[0].text.startswith("The answer arrived")
    assert [e.seq for e in replayed] == [0, 1]
    assert isinstance(heard_live, TextChunk) and heard_live.response_id == "task-2"

    async with SessionLink(redis_client, "s1") as again:
        assert [e async for e in again.missed_events()] == []


async def test_events_of_parallel_tasks_arriving_out_of_inbox_order_are_all_heard(
    redis_client: aioredis.Redis,
) -> None:
    """Two workers append to the inbox in one order and publish in the other."""
    from shared.bus import keys

    first = text_event("task-a", "From task A.")
    second = text_event("task-b", "From task B.")
    inbox = keys.session_inbox("s1")
    async with SessionLink(redis_client, "s1") as link:
        first_id = await redis_client.xadd(inbox, {keys.EVENT_FIELD: first.model_dump_json()})
        second_id = await redis_client.xadd(inbox, {keys.EVENT_FIELD: second.model_dump_json()})
        # The replay on connect delivers both; then the live copies must not be delivered again,
        # whatever their order.
        replayed = await next_events(link, 2)
        channel = keys.session_events("s1")
        for event, inbox_id in ((second, second_id), (first, first_id)):
            await redis_client.publish(
                channel, event.model_copy(update={"inbox_id": inbox_id}).model_dump_json()
            )
        late = text_event("task-c", "From task C.")
        late_id = await redis_client.xadd(inbox, {keys.EVENT_FIELD: late.model_dump_json()})
        await redis_client.publish(
            channel, late.model_copy(update={"inbox_id": late_id}).model_dump_json()
        )
        (only_new,) = await next_events(link, 1)
    assert [e.text for e in replayed if isinstance(e, TextChunk)] == [
        "From task A.",
        "From task B.",
    ]
    assert isinstance(only_new, TextChunk) and only_new.text == "From task C."


async def test_a_live_event_heard_before_an_older_one_does_not_hide_it(
    redis_client: aioredis.Redis,
) -> None:
    async with SessionLink(redis_client, "s1") as link:
        assert await link._heard("1700000000002-0")
        assert await link._heard("1700000000001-0")  # older, heard later: still new
        assert not await link._heard("1700000000002-0")


def text_event(response_id: str, words: str) -> TextChunk:
    return TextChunk(session_id="s1", response_id=response_id, seq=0, text=words, origin="task")
