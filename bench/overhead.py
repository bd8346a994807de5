"""2. Orchestration overhead: what hybridbot adds around the model, at 1, 10 and 50 sessions.

A zero-latency fake model; each session sends turns one after another. Overhead = (turn
published → done received) minus the time the model server spent on the turn. Printed next to
the floor measured in the same run (a bare relay: XADD, XREADGROUP, PUBLISH, receive: the two
Redis hops nothing can avoid) and next to the same turn answered in one process with no Redis
hop (`TurnAnswerer.answer` called directly, on fakeredis).
"""

import asyncio
import contextlib
import time

import fakeredis
import redis

from bench.common import fresh_redis, router_in_process, session, settings, summary
from router import build
from shared.bus.connection import read_entries
from shared.messages import UserTurn
from tests.fakes.openai_server import FakeOpenAI, Say

TURNS_PER_SESSION = 10
CONCURRENCY = (1, 10, 50)


def model_ms_by_text(model: FakeOpenAI) -> dict[str, float]:
    spent: dict[str, float] = {}
    for started, ended, request in model.timings:
        text = request["messages"][-1].get("content") or ""
        spent[text] = spent.get(text, 0.0) + (ended - started) * 1000
    return spent


async def overhead_at(sessions: int, model: FakeOpenAI, env: dict[str, str]) -> dict:
    client = await fresh_redis()
    timings: list[tuple[str, float]] = []
    async with router_in_process(client, env):

        async def one(index: int) -> None:
            async with session(client, f"overhead-{sessions}-{index}") as s:
                for turn in range(TURNS_PER_SESSION):
                    text = f"hello {sessions} {index} {turn}"
                    timing = await s.turn(text)
                    timings.append((text, (timing["done"] - timing["sent"]) * 1000))

        await asyncio.gather(*(one(i) for i in range(sessions)))
    await client.aclose()
    spent = model_ms_by_text(model)
    return summary([total - spent.get(text, 0.0) for text, total in timings])


async def redis_floor(samples: int = 200) -> dict:
    """Two hops through Redis and back, with no logic in between."""
    client = await fresh_redis()
    await client.xgroup_create("floor", "g", id="0", mkstream=True)
    listener = client.pubsub(ignore_subscribe_messages=True)
    await listener.subscribe("floor-out")

    async def relay() -> None:
        with contextlib.suppress(redis.RedisError):  # the next benchmark flushes the stream
            await relay_forever()

    async def relay_forever() -> None:
        while True:
            reply = await client.xreadgroup("g", "c", {"floor": ">"}, block=1000)
            for entry_id, fields in read_entries(reply):
                await client.xack("floor", "g", entry_id)
                await client.publish("floor-out", fields["n"])

    relaying = asyncio.create_task(relay())
    times = []
    for n in range(samples):
        started = time.perf_counter()
        await client.xadd("floor", {"n": str(n)})
        while await listener.get_message(timeout=1.0) is None:
            pass
        times.append((time.perf_counter() - started) * 1000)
    relaying.cancel()
    await listener.aclose()
    await client.aclose()
    return summary(times)


async def in_process_baseline(model: FakeOpenAI, env: dict[str, str], samples: int = 200) -> dict:
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    answerer = build.answerer(client, settings(**env))
    overheads = []
    for n in range(samples):
        text = f"in process {n}"
        started = time.perf_counter()
        await answerer.answer(UserTurn(session_id="inproc", text=text))
        total = (time.perf_counter() - started) * 1000
        overheads.append(total - model_ms_by_text(model).get(text, 0.0))
    await answerer.close()
    return summary(overheads)


async def run() -> dict:
    with FakeOpenAI(fallback=lambda request: Say("Ok.")) as model:
        env = {"OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "k", "BOT_TIER0": "false"}
        results = {f"sessions_{n}": await overhead_at(n, model, env) for n in CONCURRENCY}
        results["redis_floor"] = await redis_floor()
        results["in_process"] = await in_process_baseline(model, env)
    return results


if __name__ == "__main__":
    print(asyncio.run(run()))
