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

from shared.bus import keys
from shared.bus.connection import stream_entries
from shared.bus.task_queue import TaskQueue, fetch_job
from shared.bus.task_recovery import recover_lost_task
from shared.bus.tasks import TaskRecord, create_task_record, load_session_tasks
from shared.messages import BOT_EVENT, ResponseDone, TaskStatusEvent, TextChunk
from tests.conftest import RedisAtUrl
from tests.fakes.openai_server import FakeOpenAI, FakeOpenClaw, Say
from tests.processes import service_env, start_service, stop_services, wait_for

LOST = "the worker running it stopped unexpectedly."


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


def start_workers(
    count: int, redis_url: str, claw: FakeOpenClaw, **env_values: str
) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "OPENCLAW_API_URL": claw.url,
        "LOG_LEVEL": "WARNING",
        **env_values,
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
    queue = TaskQueue(redis_at_url.rq_connection, task_timeout=60)
    records = [
        TaskRecord(task_id=f"task-{i}", session_id="s1", task=f"topic {i}", label=f"topic {i}")
        for i in range(4)
    ]
    workers = start_workers(3, redis_at_url.url, claw)
    try:
        await wait_for_workers(redis_at_url, 3)
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
    ran_on = {fetch_job(r.task_id, redis_at_url.rq_connection).worker_name for r in records}
    assert len(ran_on) >= 2, ran_on

    # A voice session that connects later finds everything in the inbox.
    entries = stream_entries(await redis_at_url.client.xrange(keys.session_inbox("s1")))
    late = [BOT_EVENT.validate_json(fields[keys.EVENT_FIELD]) for _id, fields in entries]
    for record in records:
        chunks = [
            e.text for e in late if e.response_id == record.task_id and isinstance(e, TextChunk)
        ]
        assert chunks == results[records.index(record)].chunks


def work_horse_of(worker: subprocess.Popen[bytes]) -> int:
    (horse,) = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    return int(horse)


async def wait_for_workers(redis_at_url: RedisAtUrl, count: int) -> None:
    await wait_for(lambda: len(Worker.all(connection=redis_at_url.rq_connection)) >= count, 30)


DOOMED = TaskRecord(task_id="task-doomed", session_id="s1", task="doomed", label="the doomed task")
RESTARTED = "The worker on the doomed task stopped, so I'm starting it again."


def stalling_then_whole() -> list[Say]:
    """The first run stops after "Half." until released (never: it is killed); the next one
    answers in full."""
    return [Say("Half. The rest.", "Half. ", threading.Event()), Say("Half. The rest.")]


async def start_doomed_task(redis_at_url: RedisAtUrl, session) -> None:
    assert await create_task_record(redis_at_url.client, DOOMED)
    await TaskQueue(redis_at_url.rq_connection, task_timeout=60).enqueue(DOOMED)
    await session.wait_until(lambda: "Half." in session.response(DOOMED.task_id).chunks, 30)


@pytest.mark.parametrize(
    ("max_attempts", "chunks", "error", "status"),
    [
        ("1", ["Half.", f"Sorry, {DOOMED.label} failed: {LOST}"], "worker_lost", "failed"),
        ("2", ["Half.", RESTARTED, "Half.", "The rest."], None, "done"),
    ],
    ids=["reported-failed", "run-again"],
)
async def test_a_task_whose_work_horse_is_killed_is_run_again_or_reported(
    redis_at_url: RedisAtUrl,
    listen,
    max_attempts: str,
    chunks: list[str],
    error: str | None,
    status: str,
) -> None:
    with FakeOpenClaw(stalling_then_whole()) as claw:
        session = await listen("s1")
        (worker,) = start_workers(1, redis_at_url.url, claw, BOT_TASK_MAX_ATTEMPTS=max_attempts)
        try:
            await start_doomed_task(redis_at_url, session)
            os.kill(work_horse_of(worker), signal.SIGKILL)
            result = await session.wait_done(DOOMED.task_id, timeout=30)
        finally:
            stop_workers([worker])

    assert result.chunks == chunks
    assert result.done.error == error
    (stored,) = await load_session_tasks(redis_at_url.client, "s1")
    assert stored.status == status
    assert await redis_at_url.client.zcard(keys.TASK_LEASES) == 0


async def test_a_task_whose_whole_worker_is_killed_is_run_again_by_another(
    redis_at_url: RedisAtUrl, listen, tmp_path: Path
) -> None:
    """Worker main process and work horse SIGKILLed (a container killed): no hook runs; the
    task's lease ends, a router's reaper queues it again, the other worker answers it."""
    with FakeOpenClaw(stalling_then_whole()) as claw, FakeOpenAI() as model:
        session = await listen("s1")
        lease = {"BOT_TASK_LEASE_SECONDS": "1.5"}
        workers = start_workers(2, redis_at_url.url, claw, **lease)
        router_env = service_env(
            redis_at_url.url,
            OPENCLAW_API_URL=claw.url,
            OPENAI_BASE_URL=model.base_url,
            OPENAI_API_KEY="sk-test",
            **lease,
        )
        router = start_service("router", router_env, tmp_path / "router.log")
        try:
            await wait_for_workers(redis_at_url, 2)
            await start_doomed_task(redis_at_url, session)
            (stored,) = await load_session_tasks(redis_at_url.client, "s1")
            running = next(
                w for w in workers if stored.worker and stored.worker.endswith(f"-{w.pid}")
            )
            horse = work_horse_of(running)
            running.kill()
            os.kill(horse, signal.SIGKILL)
            result = await session.wait_done(DOOMED.task_id, timeout=30)
        finally:
            stop_workers(workers)
            stop_services([router])

    assert result.chunks == ["Half.", RESTARTED, "Half.", "The rest."]
    assert result.done.error is None
    statuses = [e.status for e in result.events if isinstance(e, TaskStatusEvent)]
    assert statuses == ["started", "queued", "started", "done"]
    (stored,) = await load_session_tasks(redis_at_url.client, "s1")
    assert (stored.status, stored.attempts) == ("done", 2)
    assert "queued again" in (tmp_path / "router.log").read_text()


async def test_a_lost_run_is_handled_by_one_of_the_routers_that_find_it(
    redis_at_url: RedisAtUrl,
) -> None:
    record = TaskRecord(task_id="task-lost", session_id="s1", task="t", label="the lost task")
    assert await create_task_record(redis_at_url.client, record)
    outcomes = await asyncio.gather(
        *(recover_lost_task(redis_at_url.client, None, 1, "s1", "task-lost") for _ in "ab")
    )
    assert sorted(outcomes) == ["failed", "ignored"]
