"""Bytes that are not UTF-8, and members that are not what they should be, written straight into
Redis where real processes read them: each is skipped or dead-lettered with a logged reason, no
process exits, and the next normal turn is answered."""

import json
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from shared.bus import keys
from shared.bus.connection import connect_redis
from shared.bus.responses import DurableResponse
from shared.bus.session_link import SessionLink
from shared.bus.turns import TURN_FIELD
from tests.conftest import Listener, RedisAtUrl
from tests.fakes.openai_server import FakeOpenAI, FakeOpenClaw, echo_model
from tests.processes import (
    ROUTER_CONSUMING,
    hybrid_env,
    start_service,
    stop_services,
    wait_for,
    wait_for_log,
)

BAD = b"\xff\xfe"


@pytest.fixture
def redis_client(redis_at_url: RedisAtUrl) -> aioredis.Redis:
    """Listeners of this module use the real Redis the router process uses."""
    return redis_at_url.client


async def test_bad_bytes_on_every_router_boundary_never_stop_it(
    redis_at_url: RedisAtUrl, listen, tmp_path: Path
) -> None:
    raw = redis_at_url.rq_connection  # a bytes client: writes what an attacker would
    log = tmp_path / "router.log"
    with FakeOpenAI(fallback=echo_model) as model, FakeOpenClaw() as claw:
        env = hybrid_env(
            redis_at_url.url,
            model.base_url,
            claw.url,
            BOT_TASK_LEASE_SECONDS="0.6",
        )
        router = start_service("router", env, log)
        try:
            await wait_for_log(log, ROUTER_CONSUMING)
            session = await listen("s1")
            assert (await session.ask("warm up")).text == "You said: warm up"

            turn = {"v": 1, "session_id": "s1", "turn_id": "t-bad", "text": "hi"}
            raw.xadd(keys.TURNS_STREAM, {BAD: BAD})  # field and value not UTF-8
            raw.xadd(keys.TURNS_STREAM, {TURN_FIELD: json.dumps(turn).encode()[:-2] + BAD})
            raw.xadd(keys.TURNS_STREAM, {TURN_FIELD: json.dumps({**turn, "sent_at": "nan"})})
            raw.publish(keys.INTERRUPTS_CHANNEL, BAD)
            raw.zadd(keys.TIMERS_DUE, {BAD: 0, b"not json": 0})
            raw.zadd(keys.TASK_LEASES, {BAD: 0, b"not json": 0, b'["s1"]': 0})

            def cleared() -> bool:
                return not raw.zcard(keys.TIMERS_DUE) and not raw.zcard(keys.TASK_LEASES)

            await wait_for(cleared, timeout=30)
            assert router.poll() is None, log.read_text()[-3000:]
            assert (await session.ask("still there?")).text == "You said: still there?"
        finally:
            stop_services([router])
    text = log.read_text()
    assert "dropped malformed timer" in text and "dropped malformed task lease" in text
    assert "dropped malformed interrupt" in text
    assert raw.xlen(keys.DEAD_TURNS_STREAM) == 3
    assert "Traceback" not in text


async def test_a_bad_inbox_entry_is_skipped_and_the_rest_replayed(
    redis_at_url: RedisAtUrl,
) -> None:
    raw = redis_at_url.rq_connection
    raw.xadd(keys.session_inbox("s1"), {keys.EVENT_FIELD: BAD})
    raw.xadd(keys.session_inbox("s1"), {BAD: b"{}"})
    client = connect_redis(redis_at_url.url)
    await DurableResponse(client, "s1", "task-1", origin="task").text("Hi.")
    try:
        async with SessionLink(client, "s1") as link:
            listener = Listener(link)
            try:
                texts = await listener.wait_until(
                    lambda: [getattr(e, "text", None) for e in listener.arrivals] or None
                )
            finally:
                listener.close()
    finally:
        await client.aclose()
    assert texts == ["Hi."]
