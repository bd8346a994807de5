"""The three modes: hybrid (link tool), direct (none), openclaw (OpenClaw is the model)."""

import fakeredis
import pytest
import redis.asyncio as aioredis
from rq.exceptions import NoSuchJobError

from router import build
from router.tools import fast_tools
from shared.bus import keys
from shared.bus.task_queue import fetch_job
from shared.bus.tasks import TASK_JOB, load_session_tasks
from shared.settings import Mode, Settings
from tests.conftest import model_settings
from tests.fakes.openai_server import CallTools, FakeOpenAI, FakeOpenClaw, Say

BRIDGE = {"bot_openclaw_task", "openclaw_task_status", "cancel_openclaw_task"}


def offered(request: dict) -> set[str]:
    return {t["function"]["name"] for t in request["tools"]}


async def test_direct_mode_offers_no_bridge_and_says_it_cannot_research(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    settings = model_settings(fake_model)
    assert settings.mode is Mode.DIRECT
    fake_model.script(Say("I can't do web research here."))
    await start_router(settings)
    session = await listen("s1")

    await session.ask("research the best GPUs for local LLMs")

    request = fake_model.requests[0]
    assert not offered(request) & BRIDGE
    assert "cannot browse the web" in request["messages"][0]["content"]


async def test_openclaw_mode_sends_every_turn_to_openclaw_with_the_app_tools(
    redis_client: aioredis.Redis, start_router, listen
) -> None:
    with FakeOpenClaw(api_key="gw-token") as claw:
        claw.script(CallTools([("open_window", {"app": "notes"})]), Say("Opened your notes."))
        settings = Settings(
            _env_file=None,
            OPENCLAW_API_URL=claw.url,
            OPENCLAW_API_TOKEN="gw-token",
            BOT_HYBRID_LLM="false",
        )
        assert settings.mode is Mode.OPENCLAW
        await start_router(settings)
        session = await listen("s1")

        response = await session.ask("open my notes")

    assert response.text == "Opened your notes."
    first = claw.requests[0]
    assert first["model"] == "openclaw/default"
    assert "open_window" in offered(first) and not offered(first) & BRIDGE
    assert claw.request_headers[0]["authorization"] == "Bearer gw-token"


async def test_hybrid_mode_offers_the_bridge(redis_client: aioredis.Redis) -> None:
    settings = Settings(_env_file=None, OPENAI_API_KEY="k", OPENCLAW_API_URL="http://claw:18789")
    assert settings.mode is Mode.HYBRID
    answerer = build.answerer(redis_client, settings)
    assert BRIDGE <= set(answerer.tools.names)
    assert answerer.task_queue is not None
    assert BRIDGE.isdisjoint(fast_tools().names)


async def test_delegating_creates_one_task_and_one_rq_job(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    """The router side of delegation, on both Redis flavours (RQ on an in-process client)."""
    fake_model.script(
        CallTools(
            [("bot_openclaw_task", {"task": "compare GPU prices", "label": "the GPU prices"})]
        ),
        Say("On it."),
        CallTools([("openclaw_task_status", {})]),
        Say("It's waiting."),
        CallTools([("cancel_openclaw_task", {})]),
        Say("Cancelled."),
    )
    where = redis_client.connection_pool.connection_kwargs
    # RQ's own client goes to the test's Redis (never the machine's shared one on 6379).
    settings = model_settings(
        fake_model,
        OPENCLAW_API_URL="http://claw:18789",
        REDIS_URL=f"redis://{where.get('host', '127.0.0.1')}:{where.get('port', 6379)}/0",
    )
    sync_redis = (
        fakeredis.FakeRedis(server=redis_client.connection_pool.connection_kwargs["server"])
        if isinstance(redis_client, fakeredis.FakeAsyncRedis)
        else None
    )
    router = await start_router(settings, rq=sync_redis)
    session = await listen("s1")

    await session.ask("compare GPU prices for me")
    (record,) = await load_session_tasks(redis_client, "s1")
    rq_connection = router.consumer.answerer.task_queue.connection
    job = fetch_job(record.task_id, rq_connection)
    assert job.func_name == TASK_JOB and list(job.args) == ["s1", record.task_id]
    assert job.timeout == int(settings.openclaw_task_timeout) + 120
    assert record.status == "queued" and record.label == "the GPU prices"

    await session.ask("how's it going")
    assert "waiting for a worker" in fake_model.requests[3]["messages"][-1]["content"]
    await session.ask("cancel it")
    result = await session.wait_done(record.task_id)
    assert result.done.error == "cancelled"
    # Off the queue, and not kept by RQ: the task record holds the outcome.
    with pytest.raises(NoSuchJobError):
        fetch_job(record.task_id, rq_connection)
    assert not rq_connection.exists(f"rq:canceled:{keys.OPENCLAW_QUEUE}")
    assert (await load_session_tasks(redis_client, "s1"))[0].status == "cancelled"
