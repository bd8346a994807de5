"""No session takes more than its share of the slow path: a cap on its open tasks and on the
tasks it starts an hour, each refused with a reason the model speaks, and a backlog that never
delays another session's task (workers take a session's first open task first)."""

import json
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis

from router.tools import fast_tools
from router.tools.registry import ToolContext
from shared.bus.responses import LiveResponse
from shared.bus.stores import Stores
from shared.bus.task_queue import TaskQueue, TaskQuota
from shared.bus.tasks import load_session_tasks
from tests.conftest import RedisAtUrl
from tests.fakes.openai_server import FakeOpenClaw, Say
from tests.processes import wait_for
from tests.test_worker_processes import start_workers, stop_workers


@pytest.fixture
def redis_client(redis_at_url: RedisAtUrl) -> aioredis.Redis:
    return redis_at_url.client


class Delegator:
    """Calls `bot_openclaw_task` as the router does for one session, one tool call at a time."""

    def __init__(self, redis_at_url: RedisAtUrl, session_id: str, quota: TaskQuota) -> None:
        self.registry = fast_tools(delegation=True)
        self.calls = 0
        self.ctx = ToolContext(
            stores=Stores.over(redis_at_url.client),
            session_id=session_id,
            profile="default",
            publisher=LiveResponse(redis_at_url.client, session_id, "turn-1"),
            task_queue=TaskQueue(redis_at_url.rq_connection, task_timeout=60, quota=quota),
        )

    async def __call__(self, task: str) -> str:
        self.calls += 1
        arguments = json.dumps({"task": task, "label": task})
        return await self.registry.call(
            "bot_openclaw_task", arguments, self.ctx, f"call-{self.calls}"
        )


async def test_tasks_past_the_open_cap_or_the_hourly_cap_are_refused_with_a_reason(
    redis_at_url: RedisAtUrl,
) -> None:
    busy = Delegator(redis_at_url, "busy", TaskQuota(max_open=3, per_hour=30))
    hourly = Delegator(redis_at_url, "hourly", TaskQuota(max_open=10, per_hour=2))

    busy_results = [await busy(f"research topic {n}") for n in range(5)]
    hourly_results = [await hourly(f"research topic {n}") for n in range(4)]

    assert [r.startswith("Started") for r in busy_results] == [True] * 3 + [False] * 2
    assert busy_results[3].startswith("Error: 3 tasks are already running, the most at once")
    assert [r.startswith("Started") for r in hourly_results] == [True] * 2 + [False] * 2
    assert hourly_results[2].startswith("Error: 2 tasks were started this hour")
    assert len(await load_session_tasks(redis_at_url.client, "busy")) == 3
    assert len(await load_session_tasks(redis_at_url.client, "hourly")) == 2


@pytest.fixture
def slow_claw() -> Iterator[FakeOpenClaw]:
    def answer(request: dict) -> Say:
        return Say("Done with " + request["messages"][-1]["content"][-40:], delay=0.3)

    with FakeOpenClaw(fallback=answer) as server:
        yield server


async def test_one_sessions_200_tasks_do_not_hold_up_another_sessions_task(
    redis_at_url: RedisAtUrl, slow_claw: FakeOpenClaw
) -> None:
    """One worker; one session queues 200 tasks (its cap raised for the test), another then
    asks for one: the worker takes that one next, not after the backlog."""
    flood = Delegator(redis_at_url, "flood", TaskQuota(max_open=500, per_hour=500))
    for n in range(200):
        assert (await flood(f"flood task {n}")).startswith("Started")
    workers = start_workers(1, redis_at_url.url, slow_claw)
    try:
        await wait_for(lambda: len(slow_claw.requests) >= 1, timeout=30)
        victim = Delegator(redis_at_url, "victim", TaskQuota())
        assert (await victim("the victim's task")).startswith("Started")

        def victim_started() -> bool:
            return any("victim" in json.dumps(r["messages"]) for r in slow_claw.requests)

        await wait_for(victim_started, timeout=30)
    finally:
        stop_workers(workers)

    order = ["victim" in json.dumps(r["messages"]) for r in slow_claw.requests]
    assert order.index(True) <= 2, f"{order.index(True)} flood tasks started before it"
