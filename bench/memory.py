"""6. Peak resident memory (VmHWM) of a router after 200 turns, of an OpenClaw worker's main
process after 20 tasks, and of a voice process holding 1 and 10 sessions' pipelines."""

import asyncio
import subprocess
import sys

from bench.common import (
    ROOT,
    fresh_redis,
    peak_rss_mb,
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


async def router_rss(model: FakeOpenAI) -> float:
    client = await fresh_redis()
    env = {"OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "k", "BOT_TIER0": "false"}
    (router,) = start_processes("router", 1, env)
    try:
        async with session(client, "memory") as s:
            for i in range(200):
                await asyncio.wait_for(s.turn(f"turn {i}"), 60)
        return peak_rss_mb(router.pid)
    finally:
        stop_processes([router])
        await client.aclose()


async def worker_rss(claw: FakeOpenClaw) -> float:
    client = await fresh_redis()
    queue = TaskQueue(rq_connection(redis_url()), task_timeout=60)
    (worker,) = start_processes("openclaw_worker", 1, {"OPENCLAW_API_URL": claw.url})
    try:
        await asyncio.wait_for(wait_for_workers(queue.connection, 1), 60)
        async with session(client, "memory-tasks") as s:
            for i in range(20):
                record = TaskRecord(task_id=f"m{i}", session_id="memory-tasks", task="t", label="t")
                await submit_tasks(client, queue, [record])
                await s.wait_all_done({record.task_id})
        return peak_rss_mb(worker.pid)
    finally:
        stop_processes([worker])
        await client.aclose()


def voice_rss(sessions: int) -> float:
    output = subprocess.run(
        [sys.executable, "-m", "bench.voice_sessions", str(sessions)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return float(output.strip().splitlines()[-1])


async def run() -> dict:
    with FakeOpenAI(fallback=lambda request: Say("Ok.")) as model:
        router = await router_rss(model)
    with FakeOpenClaw(fallback=lambda request: Say("Done.")) as claw:
        worker = await worker_rss(claw)
    return {
        "router_mb": router,
        "worker_mb": worker,
        "voice_1_session_mb": voice_rss(1),
        "voice_10_sessions_mb": voice_rss(10),
    }


if __name__ == "__main__":
    print(asyncio.run(run()))
