"""Redis itself killed and restarted while turns keep coming: router, OpenClaw worker and voice
bridges reconnect with backoff, neither exit nor spin, and every turn Redis accepted is answered
once. Turns sent while it is down are refused at once with a spoken reason."""

import asyncio
import io
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from shared.bus.connection import connect_redis
from shared.bus.session_link import SPOKEN_BUS_DOWN
from shared.messages import ResponseDone
from tests.fakes.openai_server import FakeOpenAI, FakeOpenClaw, Say, delegating_model
from tests.processes import (
    ROUTER_CONSUMING,
    RedisServer,
    cpu_seconds,
    hybrid_env,
    start_service,
    stop_services,
    wait_for,
    wait_for_log,
)
from voice.console import run_console

pytestmark = pytest.mark.real_redis  # starts redis-servers of its own

OUTAGE_SECONDS = 4.0
SESSIONS = 5


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as server:
        yield server


@pytest.fixture
async def redis_client(own_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """What the test's voice session links use: the services' own client, with its retries."""
    client = connect_redis(own_redis.url)
    yield client
    await client.aclose()


async def test_redis_killed_and_restarted_under_load(
    own_redis: RedisServer, listen, tmp_path: Path
) -> None:
    with (
        FakeOpenAI(fallback=delegating_model) as model,
        FakeOpenClaw(fallback=lambda request: Say("The findings.")) as claw,
    ):
        env = hybrid_env(
            own_redis.url,
            model.base_url,
            claw.url,
            BOT_TURN_RECLAIM_IDLE_MS="2000",
        )
        router = start_service("router", env, tmp_path / "router.log")
        worker = start_service("openclaw_worker", env, tmp_path / "worker.log")
        services = [router, worker]
        try:
            await wait_for_log(tmp_path / "router.log", ROUTER_CONSUMING)
            sessions = [await listen(f"r{i}") for i in range(SESSIONS)]
            accepted: list[tuple[int, str]] = []
            refused = 0
            sending = True

            async def keep_talking(index: int) -> None:
                nonlocal refused
                count = 0
                while sending:
                    try:
                        turn = await sessions[index].link.send_turn(f"message {count}")
                        accepted.append((index, turn.turn_id))
                    except (RedisError, OSError):
                        refused += 1
                    count += 1
                    await asyncio.sleep(0.05)  # ok-sleep: pacing the load, not waiting on it

            load = [asyncio.create_task(keep_talking(i)) for i in range(SESSIONS)]
            await wait_for(lambda: _answered(sessions) >= 20)
            own_redis.kill()
            cpu_before = [cpu_seconds(p.pid) for p in services]
            outage_began = asyncio.get_running_loop().time()
            # A person typing at the console during the outage hears why nothing happens.
            console = io.StringIO()
            await run_console(sessions[1].link, io.StringIO("are you there?\n"), console)
            elapsed = asyncio.get_running_loop().time() - outage_began
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - elapsed))  # ok-sleep: the outage itself
            cpu_during = [
                cpu_seconds(p.pid) - before for p, before in zip(services, cpu_before, strict=True)
            ]
            own_redis.start()
            answered_before = len(accepted)
            await wait_for(lambda: len(accepted) >= answered_before + 20, timeout=60)
            sending = False
            await asyncio.gather(*load)
            unanswered = await _unanswered_after(sessions, accepted, timeout=30)
            research = await sessions[0].ask("research the outage", timeout=30)
            task_id = next(r for r in sessions[0].responses if r.startswith("task-"))
            findings = await sessions[0].wait_done(task_id, timeout=60)
            alive = [p.poll() is None for p in services]
        finally:
            stop_services(services)

    assert not unanswered, f"accepted but never answered: {unanswered}"
    assert refused > 0, "some turns must have been sent while Redis was down"
    assert f"bot> {SPOKEN_BUS_DOWN}" in console.getvalue()
    assert alive == [True, True], "no service exited"
    for name, seconds in zip(["router", "worker"], cpu_during, strict=True):
        assert seconds < 0.25 * OUTAGE_SECONDS, (
            f"{name} used {seconds:.2f}s CPU while Redis was down"
        )
    dones = Counter(
        e.response_id for s in sessions for e in s.arrivals if isinstance(e, ResponseDone)
    )
    assert all(dones[turn_id] == 1 for _index, turn_id in accepted)
    assert research.text == "I'm on it."
    assert findings.text == "The findings."


def _answered(sessions: list) -> int:
    return sum(isinstance(e, ResponseDone) for s in sessions for e in s.arrivals)


async def _unanswered_after(
    sessions: list, accepted: list[tuple[int, str]], timeout: float
) -> list[tuple[int, str]]:
    """The accepted turns still without a done event once all have one or `timeout` passed."""

    def missing() -> list[tuple[int, str]]:
        return [
            (index, turn_id)
            for index, turn_id in accepted
            if not any(
                isinstance(e, ResponseDone) and e.response_id == turn_id
                for e in sessions[index].arrivals
            )
        ]

    try:
        await wait_for(lambda: not missing(), timeout)
    except TimeoutError:
        pass
    return missing()
