"""Model-side abuse and floods, with a router in the test's event loop on both Redis flavours:
each is bounded, answered with a reason the model or user gets, and leaves the session (and
every other) working. The same against router processes: test_abuse_processes.py."""

import asyncio
import json
import time

import pytest
import redis.asyncio as aioredis

from router.tools.registry import MAX_ARGUMENT_CHARS
from router.tools.timers import run_timer_announcer
from shared.bus import keys
from shared.bus.commands import ACK_THEN_RUN, OversizedWrite, new_batch, queued
from shared.bus.connection import stream_entries
from shared.bus.timers import DueTimer, TimerSchedule
from shared.bus.turns import TURN_FIELD, TurnGroup, run_with_ack
from shared.messages import TextChunk, UserTurn
from tests.conftest import EVENT_TIMEOUT, model_settings
from tests.fakes.openai_server import CallTools, FakeOpenAI, Say

NESTED_100K = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "arguments, error",
    [
        ('{"title": "x", "text": "' + "a" * 1_000_000 + '"}', "were over 16000 characters"),
        ('{"title": ' + "[" * 5000 + "]" * 5000 + "}", "invalid arguments for create_note"),
    ],
    ids=["1MB", "nested-5000"],
)
async def test_oversized_or_deep_arguments_get_an_error_and_never_reach_history(
    redis_client: aioredis.Redis,
    fake_model: FakeOpenAI,
    start_router,
    listen,
    arguments: str,
    error: str,
) -> None:
    fake_model.script(CallTools([("create_note", arguments)], piece_chars=65_536))
    fake_model.fallback = lambda request: Say(request["messages"][-1]["content"][:80])
    await start_router(model_settings(fake_model))
    session = await listen("s1")

    response = await session.ask("make a note")

    assert error in response.text
    second_request = json.dumps(fake_model.requests[1])
    assert len(second_request) < 40_000
    history = await redis_client.lrange(keys.session_history("s1"), 0, -1)
    assert max(len(entry) for entry in history) < MAX_ARGUMENT_CHARS
    assert await redis_client.hlen(keys.profile_notes("default")) == 0


async def test_a_finishing_write_over_the_scripts_bounds_is_refused_before_its_ack(
    redis_client: aioredis.Redis,
) -> None:
    group = TurnGroup(redis_client, "router-test")
    await group.ensure()
    turn = UserTurn(session_id="s1", text="hi")
    await redis_client.xadd(keys.TURNS_STREAM, {TURN_FIELD: turn.model_dump_json()})
    ((entry_id, _fields),) = await group.read_new(1, 100)
    huge = new_batch(redis_client)
    huge.rpush("bot:{s1}:scratch", *range(10_000))
    commands = queued(huge)

    with pytest.raises(OversizedWrite):
        await run_with_ack(redis_client, huge, entry_id)
    # The script refuses it too, before its ack, when a caller skips the check.
    with pytest.raises(aioredis.ResponseError, match="too many arguments"):
        await redis_client.eval(
            ACK_THEN_RUN,
            1,
            keys.TURNS_STREAM,
            keys.ROUTER_GROUP,
            entry_id,
            json.dumps(commands),
            64,
            1000,
        )

    pending = await redis_client.xpending(keys.TURNS_STREAM, keys.ROUTER_GROUP)
    assert pending["pending"] == 1
    assert await redis_client.exists("bot:{s1}:scratch") == 0


async def test_a_timer_flood_and_a_corrupt_screen_delay_no_other_sessions_timer(
    redis_client: aioredis.Redis, listen
) -> None:
    """300 sessions x 10 timers and one session with an unreadable screen, all due before
    another session's timer: that one is still announced while the flood is worked through,
    and the session with the bad screen hears its timer too."""
    victim = await listen("victim")
    broken = await listen("broken")
    await redis_client.set(keys.session_ui("broken"), "{not a screen")
    schedule = TimerSchedule(redis_client)
    await schedule.schedule(DueTimer(session_id="broken", timer_id="b", label="tea"), 0.5)
    async with redis_client.pipeline(transaction=False) as pipe:
        for session in range(300):
            for number in range(10):
                due = DueTimer(session_id=f"flood{session}", timer_id=f"t{number}", label="egg")
                pipe.zadd(keys.TIMERS_DUE, {due.model_dump_json(): 1.0})
        await pipe.execute()
    await schedule.schedule(DueTimer(session_id="victim", timer_id="v", label="pasta"), 1.5)
    stop = asyncio.Event()
    announcer = asyncio.create_task(run_timer_announcer(redis_client, stop))
    try:
        heard = [
            await listener.wait_until(
                lambda listener=listener: next(
                    (e.text for e in listener.arrivals if isinstance(e, TextChunk)), None
                ),
                timeout=EVENT_TIMEOUT,
            )
            for listener in (victim, broken)
        ]
    finally:
        stop.set()
        await announcer

    assert heard == ["Your pasta timer is done.", "Your tea timer is done."]


async def test_profiles_are_capped_and_notes_are_kept_only_for_registered_ones(
    redis_client: aioredis.Redis, tools
) -> None:
    """Clients name the profile of a turn: 60 names register 50 profiles, and the other 10
    keep no notes (notes outlive sessions, so only the profiles cap bounds them)."""
    results = []
    for number in range(60):
        tools.ctx.profile = f"p{number}"
        results.append(await tools("create_note", title="groceries", text="milk"))
    tools.ctx.profile = "p0"
    switched = await tools("switch_profile", name="newcomer", create=True)

    assert sum(r.startswith("Created") for r in results) == keys.MAX_PROFILES
    assert results[-1] == (
        "Error: there are too many profiles already, so notes can't be kept for this one"
    )
    assert switched == "Error: there are too many profiles already"
    assert await redis_client.hlen(keys.PROFILES) == keys.MAX_PROFILES
    assert not await redis_client.exists(keys.profile_notes("p59"))


async def test_turns_older_than_a_day_are_trimmed_by_the_routers_heartbeat(
    redis_client: aioredis.Redis,
) -> None:
    group = TurnGroup(redis_client, "router-test")
    await group.ensure()
    day_old_ms = int((time.time() - keys.TURNS_MAX_AGE_SECONDS - 60) * 1000)
    for offset in range(5):
        await redis_client.xadd(
            keys.TURNS_STREAM, {TURN_FIELD: "{}"}, id=f"{day_old_ms + offset}-0"
        )
    fresh = await redis_client.xadd(keys.TURNS_STREAM, {TURN_FIELD: "{}"})

    await group.heartbeat("host")

    left = stream_entries(await redis_client.xrange(keys.TURNS_STREAM))
    assert [entry_id for entry_id, _ in left] == [fresh]
