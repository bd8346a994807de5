"""Poison entries and model-side abuse against the router's own process on real Redis: each is
bounded, answered with a reason, and leaves the session working."""

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from shared.bus import keys
from shared.bus.turns import TURN_FIELD
from tests.conftest import RedisAtUrl
from tests.fakes.openai_server import CallTools, FakeOpenAI, Say, echo_model
from tests.processes import (
    ROUTER_CONSUMING,
    start_service,
    stop_services,
    wait_for,
    wait_for_log,
)
from tests.test_fault_processes import router_env

NESTED_100K = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def redis_client(redis_at_url: RedisAtUrl) -> aioredis.Redis:
    """Listeners use the real Redis the router process uses."""
    return redis_at_url.client


async def test_a_turn_nested_100000_deep_is_dead_lettered_once_and_the_router_goes_on(
    redis_at_url: RedisAtUrl, listen, tmp_path: Path
) -> None:
    redis = redis_at_url.client
    poison = '{"v": 1, "session_id": "s1", "turn_id": "t-poison", "text": ' + NESTED_100K + "}"
    with FakeOpenAI(fallback=echo_model) as model:
        router = start_service("router", router_env(redis_at_url, model), tmp_path / "r.log")
        try:
            await wait_for_log(tmp_path / "r.log", ROUTER_CONSUMING)
            session = await listen("s1")
            await redis.xadd(keys.TURNS_STREAM, {TURN_FIELD: poison})
            first = await session.ask("hello")

            async def nothing_pending() -> bool:
                summary = await redis.xpending(keys.TURNS_STREAM, keys.ROUTER_GROUP)
                return summary["pending"] == 0

            await wait_for(nothing_pending, timeout=10)
            second = await session.ask("hello again")
            dead = await redis.xlen(keys.DEAD_TURNS_STREAM)
            alive = router.poll() is None
        finally:
            stop_services([router])

    assert (first.text, second.text) == ("You said: hello", "You said: hello again")
    assert dead == 1
    assert alive
    assert "RecursionError" not in (tmp_path / "r.log").read_text()


async def test_a_reply_with_10000_tool_calls_runs_8_and_the_session_goes_on(
    redis_at_url: RedisAtUrl, listen, tmp_path: Path
) -> None:
    calls: list[tuple[str, dict[str, object] | str]] = [
        ("create_note", {"title": f"n{i}", "text": "x"}) for i in range(10_000)
    ]
    with FakeOpenAI([CallTools(calls), Say("Made them.")], fallback=echo_model) as model:
        router = start_service("router", router_env(redis_at_url, model), tmp_path / "r.log")
        try:
            await wait_for_log(tmp_path / "r.log", ROUTER_CONSUMING)
            session = await listen("s1")
            flood = await session.ask("make ten thousand notes", timeout=60)
            after = await session.ask("hello")
        finally:
            stop_services([router])

    assert flood.text == "Made them."
    assert flood.done.outcome == "ok"
    assert after.text == "You said: hello"
    assert await redis_at_url.client.hlen(keys.profile_notes("default")) == 8
    tool_results = [m for m in model.requests[1]["messages"] if m["role"] == "tool"]
    assert len(tool_results) == 9
    assert tool_results[-1]["content"].startswith("Error: at most 8 tool calls run in one step")
    assert "and 9991 more did not run" in tool_results[-1]["content"]
    history = await redis_at_url.client.lrange(keys.session_history("s1"), 0, -1)
    assert len(history) == 1 + 1 + 9 + 1 + 2  # user, step, 9 results, reply; the next turn


async def test_arguments_nested_5000_deep_get_an_error_the_model_reads(
    redis_at_url: RedisAtUrl, listen, tmp_path: Path
) -> None:
    nested = '{"title": ' + "[" * 5000 + "]" * 5000 + "}"

    def read_back(request: dict) -> Say:
        return Say(request["messages"][-1]["content"][:60])

    with FakeOpenAI([CallTools([("create_note", nested)], piece_chars=4096)]) as model:
        model.fallback = read_back
        router = start_service("router", router_env(redis_at_url, model), tmp_path / "r.log")
        try:
            await wait_for_log(tmp_path / "r.log", ROUTER_CONSUMING)
            session = await listen("s1")
            response = await session.ask("make a note")
        finally:
            stop_services([router])

    assert response.text.startswith("Error: invalid arguments for create_note")
    assert "something went wrong" not in response.text
