"""The compose services' own commands, read from docker-compose.yml, run as local processes on
real Redis: 2 routers and 3 OpenClaw workers under a burst of turns and delegated tasks, and a
SIGTERM to a worker in the middle of a task."""

import os
import re
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from rq import Worker

from shared.bus.task_queue import fetch_job
from shared.bus.tasks import TaskRecord, load_session_tasks
from shared.messages import ResponseDone, TaskStatusEvent
from tests.conftest import RedisAtUrl
from tests.fakes.openai_server import FakeOpenAI, FakeOpenClaw, Say, delegating_model
from tests.processes import ROUTER_CONSUMING, start_service, stop_services, wait_for

SESSIONS = 6
TURNS_PER_SESSION = 3
SLOW_TASK = "research slowly"


@pytest.fixture
def redis_client(redis_at_url: RedisAtUrl) -> aioredis.Redis:
    return redis_at_url.client


class Gateway:
    """A fake OpenClaw whose slow task stops after its first sentence until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.server = FakeOpenClaw(fallback=self.answer)

    def answer(self, request: dict) -> Say:
        task = request["messages"][-1]["content"].rsplit("Task: ", 1)[-1]
        if task == SLOW_TASK:
            return Say("Slow start. Slow finish.", "Slow start. ", self.release)
        return Say(f"Done with {task}. That is all.", delay=0.3)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gateway = Gateway()
    with gateway.server:
        yield gateway
        gateway.release.set()


async def test_two_routers_three_workers_a_burst_and_a_sigterm_mid_task(
    redis_at_url: RedisAtUrl, gateway: Gateway, listen, tmp_path: Path
) -> None:
    with FakeOpenAI(fallback=delegating_model) as model:
        env = {
            **os.environ,
            "REDIS_URL": redis_at_url.url,
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_API_KEY": "sk-test",
            "OPENCLAW_API_URL": gateway.server.url,
            "BOT_TURN_RECLAIM_IDLE_MS": "2000",
            # Small batches per read, so one router cannot take the whole burst at once.
            "BOT_ROUTER_CONCURRENCY": "2",
        }
        routers = [start_service("router", env, tmp_path / f"router{i}.log") for i in range(2)]
        workers = [
            start_service("openclaw_worker", env, tmp_path / f"worker{i}.log") for i in range(3)
        ]
        try:

            async def both_routers_reading() -> bool:
                logs = [(tmp_path / f"router{i}.log").read_text() for i in range(2)]
                return all(ROUTER_CONSUMING in log for log in logs)

            await wait_for(both_routers_reading)

            async def all_workers_listening() -> bool:
                return len(Worker.all(connection=redis_at_url.rq_connection)) == 3

            await wait_for(all_workers_listening)
            sessions = [await listen(f"s{i}") for i in range(SESSIONS)]
            slow = sessions[0]
            await slow.link.send_turn(SLOW_TASK)
            turns = [
                (session, await session.link.send_turn(text))
                for round_ in range(TURNS_PER_SESSION)
                for i, session in enumerate(sessions)
                for text in [f"research topic {i}" if round_ == 0 and i % 2 else f"hello {round_}"]
            ]
            for session, turn in turns:
                await session.wait_done(turn.turn_id, timeout=60)

            # SIGTERM the worker running the slow task while it is mid-answer.
            async def slow_tasks() -> list[TaskRecord]:
                tasks = await load_session_tasks(redis_at_url.client, "s0")
                return [t for t in tasks if t.task == SLOW_TASK]

            async def slow_task_started() -> bool:
                return [t.status for t in await slow_tasks()] == ["started"]

            await wait_for(slow_task_started)
            (slow_task,) = await slow_tasks()
            assert slow_task.worker is not None
            pid = int(slow_task.worker.rsplit("-", 1)[1])
            terminated = next(w for w in workers if w.pid == pid)
            terminated.send_signal(signal.SIGTERM)
            gateway.release.set()
            slow_result = await slow.wait_done(slow_task.task_id, timeout=60)
            assert terminated.wait(30) == 0  # warm shutdown: it finished the task, then left

            all_tasks = [
                task
                for i in range(SESSIONS)
                for task in await load_session_tasks(redis_at_url.client, f"s{i}")
            ]

            def finished(task: TaskRecord) -> bool:
                response = sessions[int(task.session_id[1:])].responses.get(task.task_id)
                return response is not None and isinstance(response.events[-1], ResponseDone)

            async def all_tasks_spoken() -> bool:
                return all(finished(task) for task in all_tasks)

            await wait_for(all_tasks_spoken)
        finally:
            stop_services(routers + workers)

    # Each turn answered once; each task done once, its answer in order.
    dones = Counter(
        (s.link.session_id, e.response_id)
        for s in sessions
        for r in s.responses.values()
        for e in r.events
        if isinstance(e, ResponseDone)
    )
    for session, turn in turns:
        assert dones[(session.link.session_id, turn.turn_id)] == 1
    assert len(all_tasks) == 1 + SESSIONS // 2
    for task in all_tasks:
        session = sessions[int(task.session_id[1:])]
        assert dones[(task.session_id, task.task_id)] == 1
        chunks = session.responses[task.task_id].chunks
        expected = [f"Done with {task.task}.", "That is all."]
        assert chunks == (["Slow start.", "Slow finish."] if task.task == SLOW_TASK else expected)
    statuses = [e.status for e in slow_result.events if isinstance(e, TaskStatusEvent)]
    assert statuses == ["queued", "started", "done"]

    # The work was spread over the replicas.
    logs = [(tmp_path / f"router{i}.log").read_text() for i in range(2)]
    answered_by = [len(re.findall(r"turn session=\S+ turn=\S+ outcome=ok", log)) for log in logs]
    assert sum(answered_by) == 1 + SESSIONS * TURNS_PER_SESSION and all(answered_by), answered_by
    rq = redis_at_url.rq_connection
    ran_on = {fetch_job(t.task_id, rq).worker_name for t in all_tasks}
    assert len(ran_on) >= 2, ran_on
