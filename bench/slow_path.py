"""4. The slow path at 1 and 4 worker processes: RQ enqueue → job start (RQ's own timestamps,
fork included), and OpenClaw chunk sent by the gateway → chunk delivered to the voice side
(the worker's SSE parsing, sentence splitting, inbox XADD and PUBLISH)."""

import asyncio
import time
from typing import Any

from bench.common import (
    fresh_redis,
    redis_url,
    session,
    start_processes,
    stop_processes,
    submit_tasks,
    summary,
    wait_for_workers,
)
from shared.bus.task_queue import TaskQueue, fetch_job, rq_connection
from shared.bus.tasks import TaskRecord
from shared.messages import TextChunk
from tests.fakes.openai_server import FakeOpenClaw, Say

ANSWER = "Alpha is first. Beta is second. Gamma is third."
TASKS = 16


async def measure(workers: int, claw: FakeOpenClaw) -> dict:
    client = await fresh_redis()
    queue = TaskQueue(rq_connection(redis_url()), task_timeout=60)
    processes = start_processes("openclaw_worker", workers, {"OPENCLAW_API_URL": claw.url})
    starts: list[float] = []
    relays: list[float] = []
    try:
        await asyncio.wait_for(wait_for_workers(queue.connection, workers), 60)
        async with session(client, f"slow-{workers}") as s:
            for batch in range(TASKS // workers):
                records = [
                    TaskRecord(
                        task_id=f"t{workers}-{batch}-{i}",
                        session_id=f"slow-{workers}",
                        task=f"task {batch} {i}",
                        label="the task",
                    )
                    for i in range(workers)
                ]
                await submit_tasks(client, queue, records)
                received: dict[str, list[tuple[float, str]]] = {r.task_id: [] for r in records}
                for at, event in await s.wait_all_done(set(received)):
                    if isinstance(event, TextChunk):
                        received[event.response_id].append((at, event.text))
                for record in records:
                    job = fetch_job(record.task_id, queue.connection)
                    assert job.started_at is not None and job.enqueued_at is not None
                    starts.append((job.started_at - job.enqueued_at).total_seconds() * 1000)
                    relays += chunk_relay_ms(
                        claw, f"hybridbot-{record.task_id}", received[record.task_id]
                    )
    finally:
        stop_processes(processes)
        await client.aclose()
    return {"enqueue_to_start_ms": summary(starts), "chunk_relay_ms": summary(relays)}


def chunk_relay_ms(claw: FakeOpenClaw, user: str, chunks: list[tuple[float, str]]) -> list[float]:
    """For each sentence received, time since the gateway sent the token that completed it."""
    sent = [(at, piece) for at, piece, who in claw.pieces if who == user]
    latencies = []
    text = ""
    for at, piece in sent:
        before = text.count(".")
        text += piece
        if text.count(".") > before and before < len(chunks):
            latencies.append((chunks[before][0] - at) * 1000)
    return latencies


async def run() -> dict:
    with FakeOpenClaw(fallback=lambda request: Say(ANSWER), token_interval=0.01) as claw:
        started = time.monotonic()
        results: dict[str, Any] = {f"workers_{n}": await measure(n, claw) for n in (1, 4)}
    results["wall_s"] = time.monotonic() - started
    return results


if __name__ == "__main__":
    print(asyncio.run(run()))
