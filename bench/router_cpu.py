"""7. What a turn costs: the router's CPU per turn and Redis commands per turn, measured apart
from the load.

The router and the OpenClaw worker run as their own processes, the fake model and gateway in
another (`bench.fake_servers`), the load generator (sessions publishing turns) in this one.
CPU is the router process's user+system time from `/proc/<pid>/stat` over a batch of turns of
one kind, less what it spends idle (heartbeats, timer and reaper loops) over the same time;
commands are `INFO commandstats` deltas over the batch, every client included (the voice side's
share is the turn's publish script and the inbox marks of delegated answers).
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis.asyncio as aioredis

from bench.common import (
    ROOT,
    fresh_redis,
    redis_url,
    session,
    start_processes,
    stop_processes,
    summary,
    wait_for_workers,
)
from bench.fake_servers import DELEGATED_TURN, TOOL_TURN
from shared.bus.task_queue import TaskQueue, rq_connection

SESSIONS = 10
TURNS_PER_SESSION = 30
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
IDLE_SECONDS = 3.0
KINDS = {
    kind: text
    for kind, text in {
        "tool": TOOL_TURN,
        "plain": "bench plain turn",
        "tier0": "open my notes",
        "delegated": DELEGATED_TURN,
    }.items()
    if kind in os.environ.get("BENCH_KINDS", "tool plain tier0 delegated").split()
}
"""A two-call tool turn, a one-call answer, a tier-0 turn (no model), a delegated task."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


@contextmanager
def fake_servers() -> Iterator[dict[str, str]]:
    """The fake model and gateway in their own process: {"model": url, "openclaw": url}."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_servers"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(10)


async def redis_cpu_seconds(client: aioredis.Redis) -> float:
    """The Redis server's own CPU time so far (user + system, all its threads)."""
    cpu = await client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


async def command_counts(client: aioredis.Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()}


async def run_turns(client: aioredis.Redis, kind: str, text: str, batch: int) -> None:
    async def one(index: int) -> None:
        async with session(client, f"cpu-{kind}-{batch}-{index}") as s:
            for turn in range(TURNS_PER_SESSION):
                sent = await s.link.send_turn(f"{text} {turn}" if kind != "tier0" else text)
                await s.wait_all_done({sent.turn_id})

    await asyncio.gather(*(one(i) for i in range(SESSIONS)))


async def wait_delegated_done(queue: TaskQueue) -> None:
    """Until the worker has finished every delegated task (RQ's queue and started registry)."""
    while queue.queue.count or queue.queue.started_job_registry.count:
        await asyncio.sleep(0.05)


async def measure(router_pid: int, client: aioredis.Redis, queue: TaskQueue) -> dict:
    # Idle cost first: what the router spends with no turns (subtracted below).
    before, started = cpu_seconds(router_pid), time.perf_counter()
    await asyncio.sleep(IDLE_SECONDS)
    idle_per_second = (cpu_seconds(router_pid) - before) / (time.perf_counter() - started)
    results: dict = {"idle_cpu_ms_per_s": idle_per_second * 1000}
    for kind, text in KINDS.items():
        await run_turns(client, kind, text, batch=0)  # warm-up: imports, caches, connections
        if kind == "delegated":
            await wait_delegated_done(queue)
        commands_before = await command_counts(client)
        redis_cpu_before = await redis_cpu_seconds(client)
        cpu_before, started = cpu_seconds(router_pid), time.perf_counter()
        await run_turns(client, kind, text, batch=1)
        if kind == "delegated":
            await wait_delegated_done(queue)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(router_pid) - cpu_before - idle_per_second * elapsed
        redis_cpu = await redis_cpu_seconds(client) - redis_cpu_before
        commands_after = await command_counts(client)
        turns = SESSIONS * TURNS_PER_SESSION
        delta = {
            name: (calls - commands_before.get(name, 0)) / turns
            for name, calls in commands_after.items()
            if calls - commands_before.get(name, 0) > 0 and name != "info"
        }
        results[kind] = {
            "router_cpu_ms": cpu * 1000 / turns,
            "redis_cpu_ms": redis_cpu * 1000 / turns,
            "redis_commands": sum(delta.values()),
            "by_command": dict(sorted(delta.items(), key=lambda item: -item[1])),
            "turns": turns,
        }
    return results


PACED_SESSIONS = 50
PACED_TURNS = 10
PACED_PERIOD_S = 1.0
"""50 sessions, each saying one thing a second (ten times a busy conversation's pace), with
their starts spread over the first second: turn published → done heard, router in its own
process, a plain one-call answer from the zero-latency fake model (its own time included)."""


async def paced_latency(client: aioredis.Redis) -> dict:
    latencies: list[float] = []
    loop = asyncio.get_running_loop()

    async def one(index: int) -> None:
        async with session(client, f"paced-{index}") as s:
            start = loop.time() + index * PACED_PERIOD_S / PACED_SESSIONS
            for turn in range(PACED_TURNS):
                await asyncio.sleep(max(0.0, start + turn * PACED_PERIOD_S - loop.time()))
                timing = await s.turn(f"bench plain turn {turn}")
                latencies.append((timing["done"] - timing["sent"]) * 1000)

    await asyncio.gather(*(one(i) for i in range(PACED_SESSIONS)))
    return summary(latencies)


async def run() -> dict:
    with fake_servers() as urls:
        client = await fresh_redis()
        env = {
            "OPENAI_BASE_URL": urls["model"],
            "OPENAI_API_KEY": "k",
            "OPENCLAW_API_URL": urls["openclaw"],
            "BOT_TIER0": "true",
            "BOT_TURNS_PER_MINUTE": "100000",
        }
        queue = TaskQueue(rq_connection(redis_url()), task_timeout=60)
        workers = start_processes("openclaw_worker", 1, env)
        profile = os.environ.get("BENCH_PROFILE")
        # BENCH_PROFILE=out.prof: the router runs under cProfile (slower; for finding the cost).
        module = f"cProfile -o {profile} -m router" if profile else "router"
        routers = start_processes(module, 1, env)
        try:
            await asyncio.wait_for(wait_for_workers(queue.connection, 1), 60)
            async with session(client, "warmup") as warm:  # until the router answers
                await asyncio.wait_for(warm.turn("warm up"), 60)
            results = await measure(routers[0].pid, client, queue)
            results["paced_50_sessions_ms"] = await paced_latency(client)
            return results
        finally:
            stop_processes(routers + workers)
            await client.aclose()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run()), indent=1))
