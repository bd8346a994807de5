"""Real `python -m openclaw_worker` processes (RQ workers that fork per job) on real Redis."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from rq import Worker
from rq.job import Job

from router.task_queue import TaskQueue
from shared import keys
from shared.events import INBOX_FIELD
from shared.messages import BOT_EVENT, ResponseDone, TextChunk
from shared.tasks import TaskRecord, create_task_record, load_session_tasks
from tests.conftest import RedisAtUrl
from tests.fakes.openai_server import FakeOpenClaw, Say


@pytest.fixture
def redis_client(redis_at_url: RedisAtUrl) -> aioredis.Redis:
    """Listeners of this module use the real Redis the worker processes use."""
    return redis_at_url.client


def answer_for(request: dict) -> Say:
    task = request["messages"][-1]["content"].rsplit("Task: ", 1)[-1]
    # A slow first byte keeps each worker busy long enough for the others to take tasks.
    return Say(f"First part about {task}. Second part about {task}.", delay=0.5)


@pytest.fixture
def claw() -> Iterator[FakeOpenClaw]:
    with FakeOpenClaw(fallback=answer_for) as server:
        yield server


def start_workers(count: int, redis_url: str, claw: FakeOpenClaw) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "OPENCLAW_API_URL": claw.url,
        "LOG_LEVEL": "WARNING",
    }
    return [
        subprocess.Popen([sys.executable, "-m", "openclaw_worker"], env=env) for _ in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()


async def test_tasks_spread_over_workers_each_done_once_in_order(
    redis_at_url: RedisAtUrl, claw: FakeOpenClaw, listen
) -> None:
    session = await listen("s1")
    queue = TaskQueue(redis_at_url.url, task_timeout=60)
    records = [
        TaskRecord(task_id=f"task-{i}", session_id="s1", task=f"topic {i}", label=f"topic {i}")
        for i in range(4)
    ]
    workers = start_workers(3, redis_at_url.url, claw)
    try:

        async def all_workers_listening() -> None:
            while len(Worker.all(connection=redis_at_url.rq_connection)) < 3:
                await asyncio.sleep(0.05)  # ok-sleep: polling RQ's registry with a deadline

        await asyncio.wait_for(all_workers_listening(), 30)
        for record in records:
            assert await create_task_record(redis_at_url.client, record)
            await queue.enqueue(record)
        results = await asyncio.gather(*(session.wait_done(r.task_id, timeout=60) for r in records))
    finally:
        stop_workers(workers)

    for record, result in zip(records, results, strict=True):
        assert result.chunks == [
            f"First part about {record.task}.",
            f"Second part about {record.task}.",
        ]
        assert result.done.outcome == "ok"
        assert [e.seq for e in result.events] == list(range(len(result.events)))
    dones = Counter(
        e.response_id
        for r in session.responses.values()
        for e in r.events
        if isinstance(e, ResponseDone)
    )
    assert all(dones[r.task_id] == 1 for r in records)
    assert len(claw.requests) == 4
    ran_on = {
        Job.fetch(r.task_id, connection=redis_at_url.rq_connection).worker_name for r in records
    }
    assert len(ran_on) >= 2, ran_on

    # A voice session that connects later finds everything in the inbox.
    entries = await redis_at_url.client.xrange(keys.session_inbox("s1"))
    late = [BOT_EVENT.validate_json(fields[INBOX_FIELD]) for _id, fields in entries]
    for record in records:
        chunks = [
            e.text for e in late if e.response_id == record.task_id and isinstance(e, TextChunk)
        ]
        assert chunks == results[records.index(record)].chunks


async def test_a_task_whose_work_horse_is_killed_is_reported_failed(
    redis_at_url: RedisAtUrl, listen
) -> None:
    release = threading.Event()
    with FakeOpenClaw(fallback=lambda request: Say("Half. The rest.", "Half. ", release)) as claw:
        session = await listen("s1")
        (worker,) = start_workers(1, redis_at_url.url, claw)
        try:
            record = TaskRecord(
                task_id="task-doomed", session_id="s1", task="doomed", label="the doomed task"
            )
            assert await create_task_record(redis_at_url.client, record)
            await TaskQueue(redis_at_url.url, task_timeout=60).enqueue(record)

            await session.wait_until(
                lambda: "Half." in session.response(record.task_id).chunks, timeout=30
            )
            children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
            (horse,) = children
            os.kill(int(horse), signal.SIGKILL)
            result = await session.wait_done(record.task_id, timeout=30)
        finally:
            release.set()
            stop_workers([worker])

    assert result.done.error == "worker_lost"
    assert result.chunks == [
        "Half.",
        "Sorry, the doomed task failed: the worker running it stopped unexpectedly.",
    ]
    (stored,) = await load_session_tasks(redis_at_url.client, "s1")
    assert stored.status == "failed" and stored.error == "worker_lost"
