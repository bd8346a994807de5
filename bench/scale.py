"""5. Throughput at saturation: turns/s with 1 and 2 router processes (zero-latency model),
tasks/s with 1, 2 and 4 OpenClaw worker processes (zero-latency gateway)."""

import asyncio
import time

from bench.common import (
    fresh_redis,
    redis_url,
    session,
    start_processes,
    stop_processes,
    submit_tasks,
    wait_for_workers,
)
from shared.bus.task_queue import TaskQueue, rq_connection
from shared.bus.tasks import TaskRecord
from tests.fakes.openai_server import FakeOpenAI, FakeOpenClaw, Say

SESSIONS = 20
TURNS_PER_SESSION = 10
TASKS = 40


async def turns_per_second(routers: int, model: FakeOpenAI) -> float:
    client = await fresh_redis()
    env = {"OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "k", "BOT_TIER0": "false"}
    processes = start_processes("router", routers, env)
    try:
        async with session(client, "warmup") as warm:  # wait until the routers answer
            await asyncio.wait_for(warm.turn("warm up"), 60)

        async def burst(index: int) -> None:
            async with session(client, f"scale-{routers}-{index}") as s:
                sent = {
                    (await s.link.send_turn(f"turn {i}")).turn_id for i in range(TURNS_PER_SESSION)
                }
                await s.wait_all_done(sent)

        started = time.perf_counter()
        await asyncio.gather(*(burst(i) for i in range(SESSIONS)))
        elapsed = time.perf_counter() - started
    finally:
        stop_processes(processes)
        await client.aclose()
    return SESSIONS * TURNS_PER_SESSION / elapsed


async def tasks_per_second(workers: int, claw: FakeOpenClaw) -> float:
    client = await fresh_redis()
    queue = TaskQueue(rq_connection(redis_url()), task_timeout=60)
    processes = start_processes("openclaw_worker", workers, {"OPENCLAW_API_URL": claw.url})
    try:
        await asyncio.wait_for(wait_for_workers(queue.connection, workers), 60)
        async with session(client, f"tasks-{workers}") as s:
            records = [
                TaskRecord(
                    task_id=f"s{workers}-{i}",
                    session_id=f"tasks-{workers}",
                    task=f"t{i}",
                    label="t",
                )
                for i in range(TASKS)
            ]
            started = time.perf_counter()
            await submit_tasks(client, queue, records)
            await s.wait_all_done({r.task_id for r in records})
            elapsed = time.perf_counter() - started
    finally:
        stop_processes(processes)
        await client.aclose()
    return TASKS / elapsed


async def run() -> dict:
    with FakeOpenAI(fallback=lambda request: Say("Ok.")) as model:
        turns = {f"routers_{n}": await turns_per_second(n, model) for n in (1, 2)}
    with FakeOpenClaw(fallback=lambda request: Say("Done.")) as claw:
        tasks = {f"workers_{n}": await tasks_per_second(n, claw) for n in (1, 2, 4)}
    return {"turns_per_s": turns, "tasks_per_s": tasks}


if __name__ == "__main__":
    print(asyncio.run(run()))
