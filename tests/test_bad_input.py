"""Bad input on every boundary: each gets a logged reason and, where a user waits, a spoken
reply; nothing crashes and the next good input is answered.

Covered elsewhere: malformed and future-version turns on the stream (test_turns), empty and
over-long transcripts (test_turns), unknown tools and wrongly typed tool arguments from the
model (test_turns), malformed timers (test_screen_tools), model and gateway faults
(test_turns, test_delegation)."""

import json
import logging

import pytest
import redis.asyncio as aioredis

from openclaw_worker.jobs import run_task_async
from shared.bus import keys
from shared.bus.connection import stream_entries
from shared.bus.history import SessionHistory
from shared.bus.responses import LiveResponse
from shared.settings import Settings
from tests.conftest import model_settings
from tests.fakes.openai_server import FakeOpenAI, echo_model


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        json.dumps({"v": 9, "session_id": "s1", "response_id": "r1"}),
        json.dumps({"v": 1, "session_id": "s1"}),
        json.dumps({"v": 1, "session_id": "s1", "response_id": "no-such-response"}),
        "\x00" * 100_000,
    ],
    ids=["not-json", "future-version", "no-response-id", "unknown-response", "huge-binary"],
)
async def test_garbage_on_the_interrupts_channel_is_logged_and_ignored(
    redis_client: aioredis.Redis,
    fake_model: FakeOpenAI,
    start_router,
    listen,
    caplog: pytest.LogCaptureFixture,
    raw: str,
) -> None:
    fake_model.fallback = echo_model
    await start_router(model_settings(fake_model))
    session = await listen("s1")
    await session.ask("warm up")  # the router is listening on the channel by now

    await redis_client.publish(keys.INTERRUPTS_CHANNEL, raw)
    response = await session.ask("hello")

    assert response.text == "You said: hello"
    if raw.startswith('{"v": 1, "session_id": "s1", "response_id"'):
        return  # well formed: an interrupt of a response that does not exist changes nothing
    assert "dropped malformed interrupt" in caplog.text


async def test_garbage_on_a_sessions_channel_and_inbox_is_skipped(
    redis_client: aioredis.Redis, listen, caplog: pytest.LogCaptureFixture
) -> None:
    await redis_client.xadd(keys.session_inbox("s1"), {keys.EVENT_FIELD: "{broken"})
    await redis_client.xadd(keys.session_inbox("s1"), {"other": "field"})
    session = await listen("s1")
    channel = keys.session_events("s1")
    await redis_client.publish(channel, "{not json")
    await redis_client.publish(channel, json.dumps({"v": 1, "type": "text", "seq": 0}))
    await redis_client.publish(channel, json.dumps({"v": 2, "type": "done"}))
    publisher = LiveResponse(redis_client, "s1", "r-good")
    await publisher.text("Still working.")
    await publisher.done()

    response = await session.wait_done("r-good")

    assert response.text == "Still working."
    assert set(session.responses) == {"r-good"}
    assert caplog.text.count("dropped malformed bot event") >= 4


async def test_unicode_emoji_and_right_to_left_text_round_trip(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.fallback = echo_model
    await start_router(model_settings(fake_model))
    session = await listen("s1")
    text = "שלום! مرحبا 👋🏽 — naïve café, 東京 ✓"

    response = await session.ask(text)

    assert response.text == f"You said: {text}"
    assert fake_model.requests[0]["messages"][-1]["content"] == text
    history = await SessionHistory(redis_client, 60, 40).load("s1")
    assert history[0] == {"role": "user", "content": text}


async def test_huge_unknown_and_unsafe_sessions_on_the_stream(
    redis_client: aioredis.Redis,
    fake_model: FakeOpenAI,
    start_router,
    listen,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_model.fallback = echo_model
    await start_router(model_settings(fake_model))
    stranger = await listen("never-seen-before")
    huge = json.dumps({"v": 1, "session_id": "never-seen-before", "turn_id": "t-huge"})
    huge = huge[:-1] + ', "text": "' + "blah " * 200_000 + '"}'
    await redis_client.xadd(keys.TURNS_STREAM, {"turn": huge})
    unsafe = {"v": 1, "session_id": "s}{1 *", "turn_id": "t-unsafe", "text": "hi"}
    await redis_client.xadd(keys.TURNS_STREAM, {"turn": json.dumps(unsafe)})

    too_long = await stranger.wait_done("t-huge")
    answered = await stranger.ask("hello from a new session")

    assert too_long.text == "Sorry, that was too long for me. Could you say it more briefly?"
    assert too_long.done.error == "turn_too_long"
    assert answered.text == "You said: hello from a new session"
    assert len(fake_model.requests) == 1
    dead = stream_entries(await redis_client.xrange(keys.DEAD_TURNS_STREAM))
    assert [entry["reason"] for _id, entry in dead] == [
        "session_id: String should match pattern '^[A-Za-z0-9_.:-]{1,64}$'"
    ]
    assert "turn rejected" in caplog.text


async def test_a_job_for_a_task_that_does_not_exist_fails_with_a_log_line(
    redis_at_url, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    settings = Settings(
        _env_file=None, REDIS_URL=redis_at_url.url, OPENCLAW_API_URL="http://127.0.0.1:9"
    )

    status = await run_task_async(settings, "s1", "task-nobody-created", "test-worker")

    assert status == "failed"
    assert "task record missing session=s1 task=task-nobody-created" in caplog.text
