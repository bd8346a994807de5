"""A user turn through the whole fast path: stream → router → model → tools → streamed reply."""

import json
import logging
import threading

import pytest
import redis.asyncio as aioredis

from router.llm import SPOKEN_MISCONFIGURED, SPOKEN_UNAVAILABLE
from shared.bus import keys
from shared.bus.connection import stream_entries
from shared.bus.history import SessionHistory
from shared.bus.turns import publish_interrupt
from shared.local_redis import free_port
from shared.messages import Interrupt, UserTurn
from shared.settings import Settings
from tests.conftest import Listener, RunningRouter, model_settings
from tests.fakes.openai_server import CallTools, Fail, FakeOpenAI, Garbage, Hang, Say
from tests.processes import wait_for


async def test_calculator_answer_streams_back_sentence_by_sentence(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(
        CallTools([("calculator", {"expression": "17*23"})]),
        Say("17 times 23 is 391. Anything else?"),
    )
    await start_router(model_settings(fake_model))
    session = await listen("s1")

    response = await session.ask("what's 17 times 23")

    assert response.chunks == ["17 times 23 is 391.", "Anything else?"]
    assert response.done.outcome == "ok"
    assert [e.seq for e in response.events] == [0, 1, 2]
    first, second = fake_model.requests
    assert {t["function"]["name"] for t in first["tools"]} >= {"calculator", "create_note"}
    assert first["stream"] is True and first["model"] == "gpt-4o-mini"
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": second["messages"][-2]["tool_calls"][0]["id"],
        "content": "17*23 = 391",
    }


async def test_first_sentence_is_published_while_the_model_is_still_talking(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    resume = threading.Event()
    fake_model.script(
        Say("Here is the first sentence. And a second one.", "Here is the first sentence. ", resume)
    )
    await start_router(model_settings(fake_model))
    session = await listen("s1")
    turn = await session.link.send_turn("talk to me")

    first = await session.wait_until(lambda: session.response(turn.turn_id).chunks)
    assert first == ["Here is the first sentence."]
    resume.set()
    response = await session.wait_done(turn.turn_id)
    assert response.chunks == ["Here is the first sentence.", "And a second one."]


async def test_history_carries_the_exchange_into_the_next_turn(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(
        CallTools([("create_note", {"title": "Groceries", "text": "milk, eggs"})]),
        Say("I created your groceries note."),
        Say("You asked me to make a groceries note."),
    )
    await start_router(model_settings(fake_model))
    session = await listen("s1")
    await session.ask("make a groceries note with milk and eggs")
    await session.ask("what did I just ask")

    history = await SessionHistory(redis_client, 60, 40).load("s1")
    assert [m["role"] for m in history] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert history[2]["content"] == "Created note 'Groceries'."
    third = fake_model.requests[2]["messages"]
    assert third[0]["role"] == "system"
    assert third[1:] == history[:5]
    assert 0 < await redis_client.ttl(keys.session_history("s1")) <= 24 * 3600


async def test_unknown_tool_and_invalid_arguments_go_back_to_the_model(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(
        CallTools(
            [("launch_rocket", {}), ("calculator", {"expr": 3}), ("calculator", "{not json")]
        ),
        Say("Sorry, I couldn't do that."),
    )
    await start_router(model_settings(fake_model))
    session = await listen("s1")

    response = await session.ask("do something odd")

    assert response.text == "Sorry, I couldn't do that."
    assert response.done.outcome == "ok"
    results = [m["content"] for m in fake_model.requests[1]["messages"] if m["role"] == "tool"]
    assert results[0].startswith("Error: there is no tool named 'launch_rocket'")
    assert results[1].startswith(
        "Error: invalid arguments for calculator: expression: Field required"
    )
    assert results[2].startswith("Error: invalid arguments for calculator:")


async def test_tool_rounds_are_bounded(fake_model: FakeOpenAI, start_router, listen) -> None:
    fake_model.fallback = lambda request: CallTools([("list_notes", {})])
    await start_router(model_settings(fake_model, BOT_MAX_TOOL_ROUNDS=2))
    session = await listen("s1")

    response = await session.ask("loop forever")

    assert response.text == "Sorry, that needed more steps than I can take at once."
    assert response.done.error == "too_many_tool_rounds"
    assert len(fake_model.requests) == 3


async def test_a_turn_that_is_too_long_is_refused_without_a_model_call_and_not_kept(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    await start_router(model_settings(fake_model, BOT_MAX_TURN_CHARS=50))
    session = await listen("s1")

    response = await session.ask("blah " * 40)

    assert response.text == "Sorry, that was too long for me. Could you say it more briefly?"
    assert response.done.error == "turn_too_long"
    assert fake_model.requests == []
    await session.ask("hello")
    assert "blah" not in json.dumps(fake_model.requests[0]["messages"])
    assert not [
        m for m in await redis_client.lrange(keys.session_history("s1"), 0, -1) if "blah" in m
    ]


async def test_a_trickling_model_is_cut_off_by_the_turn_deadline(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    """One token every 0.3 s never trips the per-read timeout; the whole-turn deadline does."""
    fake_model.token_interval = 0.3
    fake_model.script(Say("word " * 200))
    settings = model_settings(fake_model, BOT_TURN_DEADLINE=1.5, BOT_MODEL_TIMEOUT=1)
    await start_router(settings)
    session = await listen("s1")

    response = await session.ask("tell me a long story")

    assert response.done.error == "turn_deadline"
    assert (
        response.chunks[-1] == "Sorry, that took me too long. Please try again, or ask more simply."
    )
    assert fake_model.requests[0]["max_tokens"] == settings.bot_max_tokens


async def test_a_session_that_sends_too_fast_is_asked_to_slow_down(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.fallback = lambda request: Say("ok.")
    await start_router(model_settings(fake_model, BOT_TURNS_PER_MINUTE=2))
    session, other = await listen("s1"), await listen("s2")

    for _ in range(2):
        assert (await session.ask("hi")).text == "ok."
    slowed = await session.ask("hi again")

    assert slowed.done.error == "rate_limited"
    assert slowed.text == "You're going a bit fast for me. Give me a moment, then try again."
    assert len(fake_model.requests) == 2
    assert (await other.ask("hi")).text == "ok."  # other sessions are not affected


async def test_an_empty_transcript_gets_a_short_reply(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    await start_router(model_settings(fake_model))
    session = await listen("s1")
    response = await session.ask("   ")
    assert response.text == "Sorry, I didn't catch that."
    assert fake_model.requests == []


async def test_without_a_model_the_reply_says_how_to_configure_one(
    redis_client: aioredis.Redis, start_router, listen
) -> None:
    await start_router(Settings(_env_file=None))
    session = await listen("s1")

    response = await session.ask("hello")

    assert response.text.startswith("No language model is configured")
    assert "OPENAI_BASE_URL" in response.text and "llama.cpp" in response.text
    assert response.done.error == "no_model"


@pytest.mark.parametrize(
    ("failures", "error", "spoken"),
    [
        (
            [Fail(500, headers={"retry-after-ms": "10"})] * 3,
            "model_unavailable",
            "couldn't reach my language model",
        ),
        ([Fail(429, headers={"retry-after-ms": "10"})] * 3, "model_unavailable", "couldn't reach"),
        ([Fail(400, "context too long")], "model_rejected", "couldn't reach my language model"),
        ([Garbage()], "model_bad_response", "garbled"),
    ],
)
async def test_model_failures_end_in_a_spoken_apology_and_the_next_turn_works(
    fake_model: FakeOpenAI, start_router, listen, failures: list, error: str, spoken: str
) -> None:
    fake_model.script(*failures, Say("Back to normal."))
    await start_router(model_settings(fake_model, BOT_MODEL_MAX_RETRIES=2))
    session = await listen("s1")

    failed = await session.ask("hello")
    recovered = await session.ask("hello again")

    assert spoken in failed.text
    assert failed.done.error == error
    assert recovered.text == "Back to normal."


async def test_rate_limit_is_retried_then_answered(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(Fail(429, "slow down", {"retry-after-ms": "10"}), Say("Hi there."))
    await start_router(model_settings(fake_model))
    session = await listen("s1")

    response = await session.ask("hi")

    assert response.text == "Hi there."
    assert len(fake_model.requests) == 2


@pytest.mark.parametrize("failure", ["key-refused", "unreachable"])
async def test_a_model_failing_at_start_is_heard_at_once_not_after_the_warm_up(
    start_router, listen, failure: str
) -> None:
    """The router's warm-up failed and waits to try again: a turn asks the model itself and
    says what is wrong, inside a turn deadline shorter than the warm-up's first wait."""
    with FakeOpenAI(api_key="the-right-key") as model:
        settings = model_settings(model, BOT_TURN_DEADLINE=4, BOT_MODEL_MAX_RETRIES=0)
        if failure == "unreachable":
            nothing_there = f"http://127.0.0.1:{free_port()}/v1"
            settings = settings.model_copy(update={"openai_base_url": nothing_there})
        router = await start_router(settings)
        router.consumer.answerer.warm_up_soon()
        session = await listen("s1")

        response = await session.ask("hello")

    expected = {
        "key-refused": (SPOKEN_MISCONFIGURED, "model_auth"),
        "unreachable": (SPOKEN_UNAVAILABLE, "model_unavailable"),
    }
    assert (response.text, response.done.error) == expected[failure]


async def test_a_hanging_model_times_out_into_an_apology(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(Hang())
    await start_router(model_settings(fake_model, BOT_MODEL_TIMEOUT=0.3, BOT_MODEL_MAX_RETRIES=0))
    session = await listen("s1")

    response = await session.ask("hello")

    assert response.done.error == "model_unavailable"


async def test_wrong_key_is_reported_as_misconfiguration_without_leaking_it(
    start_router, listen, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeOpenAI(api_key="sk-the-right-one") as fake:
        await start_router(model_settings(fake, OPENAI_API_KEY="sk-wrong-secret-key"))
        session = await listen("s1")
        response = await session.ask("hello")

    assert response.text == "Sorry, the assistant's model is not configured correctly."
    assert response.done.error == "model_auth"
    assert "model failed" in caplog.text and "model_auth" in caplog.text
    assert "sk-wrong-secret-key" not in caplog.text


async def test_each_turn_logs_one_line_with_its_timings(
    fake_model: FakeOpenAI, start_router, listen, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="router.consumer")
    fake_model.script(Say("Hello."))
    await start_router(model_settings(fake_model))
    session = await listen("s1")
    turn = await session.link.send_turn("hi")
    await session.wait_done(turn.turn_id)

    def logged() -> list[str]:
        return [r.message for r in caplog.records if f"turn={turn.turn_id}" in r.message]

    await wait_for(lambda: bool(logged()), 5)
    (line,) = logged()
    for field in ("queued_ms=", "first_token_ms=", "first_chunk_ms=", "done_ms=", "outcome=ok"):
        assert field in line


async def test_malformed_entries_are_dead_lettered_and_the_router_goes_on(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(Say("Still here."))
    await start_router(model_settings(fake_model))
    session = await listen("s1")
    await redis_client.xadd(keys.TURNS_STREAM, {"turn": "{not json"})
    await redis_client.xadd(keys.TURNS_STREAM, {"something": "else"})
    await redis_client.xadd(
        keys.TURNS_STREAM,
        {"turn": json.dumps({"v": 1, "session_id": "s1", "turn_id": "t-bad", "text": 42})},
    )
    await redis_client.xadd(
        keys.TURNS_STREAM,
        {"turn": json.dumps({"v": 7, "session_id": "s1", "turn_id": "t-v7", "text": "hi"})},
    )

    rejected = await session.wait_done("t-bad")
    future_version = await session.wait_done("t-v7")
    answered = await session.ask("are you there")

    assert rejected.text == "Sorry, I couldn't read that request."
    assert rejected.done.error == "bad_turn"
    assert future_version.done.error == "bad_turn"
    assert answered.text == "Still here."
    dead = stream_entries(await redis_client.xrange(keys.DEAD_TURNS_STREAM))
    assert len(dead) == 4
    assert all(entry["reason"] for _id, entry in dead)
    await wait_until_acked(redis_client)


async def wait_until_acked(redis_client: aioredis.Redis) -> None:
    """The router acks just after publishing done; wait for that with a deadline."""

    async def no_pending() -> bool:
        return not (await redis_client.xpending(keys.TURNS_STREAM, keys.ROUTER_GROUP))["pending"]

    await wait_for(no_pending, 5)


async def _story_paused_after_one_sentence(
    fake_model: FakeOpenAI, start_router, listen
) -> tuple[RunningRouter, Listener, UserTurn, threading.Event]:
    """A router streaming a two-sentence reply to session s1, held after the first sentence
    (which the session has heard) until the returned event is set."""
    resume = threading.Event()
    fake_model.script(Say("First sentence. Second sentence.", "First sentence. ", resume))
    router = await start_router(model_settings(fake_model))
    session = await listen("s1")
    turn = await session.link.send_turn("tell me a story")
    await session.wait_until(lambda: session.response(turn.turn_id).chunks)
    return router, session, turn, resume


async def test_a_barge_in_stops_the_reply_at_the_next_sentence(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    router, session, turn, resume = await _story_paused_after_one_sentence(
        fake_model, start_router, listen
    )
    await session.link.interrupt(turn.turn_id)

    await wait_for(lambda: ("s1", turn.turn_id) in router.consumer.answerer.interrupts, 5)
    resume.set()
    response = await session.wait_done(turn.turn_id)

    assert response.chunks == ["First sentence."]
    assert response.done.error == "interrupted"
    history = await SessionHistory(redis_client, 60, 40).load("s1")
    assert history[-1] == {"role": "assistant", "content": "First sentence."}


async def test_an_interrupt_from_another_session_does_not_stop_a_reply(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    router, session, turn, resume = await _story_paused_after_one_sentence(
        fake_model, start_router, listen
    )
    intruder = Interrupt(session_id="s2", response_id=turn.turn_id)
    await publish_interrupt(redis_client, intruder)
    # A later interrupt on the same channel: once the router has it, it has seen the first.
    await publish_interrupt(redis_client, Interrupt(session_id="s3", response_id="marker"))

    await wait_for(lambda: ("s3", "marker") in router.consumer.answerer.interrupts, 5)
    resume.set()
    response = await session.wait_done(turn.turn_id)

    assert response.chunks == ["First sentence.", "Second sentence."]
    assert response.done.error is None


async def test_history_is_capped_in_bytes_and_skips_entries_that_are_not_messages(
    redis_client: aioredis.Redis,
) -> None:
    history = SessionHistory(redis_client, ttl_seconds=60, max_messages=40, max_bytes=2000)
    for i in range(10):
        await history.append(
            "s1",
            [
                {"role": "user", "content": f"question {i} " + "x" * 5000},
                {"role": "assistant", "content": f"answer {i}"},
            ],
        )
    await redis_client.rpush(keys.session_history("s1"), "not json", "[1, 2]")

    loaded = await history.load("s1")

    assert sum(len(json.dumps(m)) for m in loaded) <= 2000
    assert loaded[0]["role"] == "user" and loaded[-1] == {
        "role": "assistant",
        "content": "answer 9",
    }
    assert all(len(m["content"]) <= 500 + len(" … (cut)") for m in loaded)
