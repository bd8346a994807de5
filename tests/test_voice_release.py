"""A voice session's whole life is bounded: what an ended, refused or never-connected session
held is released, and no client holds more than its share (voice/signalling.py).

The process test runs the voice service's own command, a router and a fake model, with clients
over real WebRTC (aiortc, tests/webrtc_client.py)."""

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from shared.bus import keys
from shared.bus.connection import connect_redis
from shared.bus.session_link import SessionLink, TurnTooLong
from shared.local_redis import free_port
from tests.conftest import RedisAtUrl
from tests.fakes.openai_server import FakeOpenAI, echo_model
from tests.processes import serves_page, service_env, start_service, stop_services, wait_for
from tests.webrtc_client import WebRTCVoiceClient
from voice.signalling import (
    MAX_START_ENTRIES,
    LiveSessions,
    SignallingLimits,
    StartEntryReaper,
    runner_start_entries,
)


@pytest.fixture
def redis_client(redis_at_url: RedisAtUrl) -> aioredis.Redis:
    return redis_at_url.client


async def _client_count(redis: aioredis.Redis) -> int:
    return len(await redis.client_list())


async def test_a_closed_client_closes_its_connections(redis_at_url: RedisAtUrl) -> None:
    """What a voice session does with its own client: ping, subscribe, close."""
    before = await _client_count(redis_at_url.client)
    for number in range(5):
        redis = connect_redis(redis_at_url.url)
        async with SessionLink(redis, f"s{number}"):
            await redis.ping()
        await redis.aclose()

    assert await _client_count(redis_at_url.client) == before


async def test_a_turn_over_the_routers_limit_never_reaches_the_stream(
    redis_at_url: RedisAtUrl,
) -> None:
    async with SessionLink(redis_at_url.client, "s1", max_turn_chars=2000) as link:
        with pytest.raises(TurnTooLong):
            await link.send_turn("x" * 250_000)
        await link.send_turn("x" * 2000)

    assert await redis_at_url.client.xlen(keys.TURNS_STREAM) == 1


def test_every_session_shares_one_vad_model_and_hears_as_pipecats_own() -> None:
    from pipecat.audio.vad.silero import SileroVADAnalyzer

    from voice.vad import SharedSileroVAD

    shared = [SharedSileroVAD(sample_rate=16000) for _ in range(3)]
    own = SileroVADAnalyzer(sample_rate=16000)
    for analyzer in [*shared, own]:
        analyzer.set_sample_rate(16000)
    rng = np.random.default_rng(7)
    # A vowel-like tone with noise, then silence: windows of 512 samples at 16 kHz.
    t = np.arange(512 * 20) / 16000
    voiced = 8000 * np.sin(2 * np.pi * 220 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
    audio = np.concatenate([voiced + rng.normal(0, 300, t.size), np.zeros(512 * 10)])
    windows = [audio[i : i + 512].astype(np.int16).tobytes() for i in range(0, audio.size, 512)]

    heard = [
        [float(np.asarray(a.voice_confidence(w)).ravel()[0]) for w in windows]
        for a in [*shared, own]
    ]

    assert len({id(a._model.session) for a in shared}) == 1
    assert shared[0]._model.session is not own._model.session
    assert heard[0] == heard[1] == heard[2]
    assert np.allclose(heard[0], heard[3], atol=1e-5)


async def test_unused_start_entries_are_dropped_and_live_ones_kept() -> None:
    """Against the runner's own `/start` route and the dict it keeps."""
    from pipecat.runner import run as runner

    app = FastAPI()
    kept: dict[str, Any] = {}
    runner._setup_unified_start_route(app, argparse.Namespace(), kept)
    sessions = LiveSessions()
    reaper = StartEntryReaper(sessions, ttl=120)
    reaper.entries = runner_start_entries(app)
    assert reaper.entries is kept
    kept.update({f"unused-{n}": {} for n in range(500)} | {"live": {}})
    sessions.runner_sessions.add("live")

    assert reaper.reap(now=1000.0) == 0
    assert reaper.reap(now=1121.0) == 500
    assert list(kept) == ["live"]


def _voice_env(redis_at_url: RedisAtUrl, model: FakeOpenAI, **values: str) -> dict[str, str]:
    settings = {
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_API_KEY": "sk-test",
        "BOT_TIER0": "false",
        "VOICE_STT": "none",
        "VOICE_TTS": "none",
        "VOICE_CONNECT_TIMEOUT": "1",
    }
    return service_env(redis_at_url.url, **(settings | values))


def _http() -> aiohttp.ClientSession:
    """A fresh connection a request (a pooled one the server closed meanwhile would fail)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))


async def _visit(http: aiohttp.ClientSession, base: str) -> str:
    client = WebRTCVoiceClient(http, base)
    try:
        await client.offer()
        await client.connect()
        return await client.say("hello")
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def voice_service(
    redis_at_url: RedisAtUrl, tmp_path: Path, *services: str, **settings: str
) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """The voice service's own command (and `services`) against an echoing fake model; yields
    its base URL and an HTTP client."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    options = {"--host": "127.0.0.1", "--port": str(port)}
    with FakeOpenAI(fallback=echo_model) as model:
        env = _voice_env(redis_at_url, model, **settings)
        processes = [
            start_service(name, env, tmp_path / f"{name}.log", options if name == "voice" else None)
            for name in ("voice", *services)
        ]
        try:
            await wait_for(lambda: asyncio.to_thread(serves_page, base + "/"), timeout=60)
            async with _http() as http:
                yield base, http
        finally:
            stop_services(processes)


async def test_sessions_that_end_or_never_connect_leave_nothing_behind(
    redis_at_url: RedisAtUrl, tmp_path: Path
) -> None:
    """8 sessions connect, speak and hang up, 6 offers never connect: afterwards the voice
    service holds no more Redis connections than after the first session (but for what its
    session issuer's small pool keeps), and every peer connection is discarded."""

    def voice_log() -> str:
        return (tmp_path / "voice.log").read_text(errors="replace")

    async with voice_service(
        redis_at_url,
        tmp_path,
        "router",
        VOICE_SIGNALLING_PER_MINUTE="1000",
        VOICE_MAX_SESSIONS_PER_CLIENT="100",
    ) as (base, http):
        assert await _visit(http, base) == "You said: hello"
        baseline = await _client_count(redis_at_url.client)
        for _ in range(4):
            replies = await asyncio.gather(_visit(http, base), _visit(http, base))
            assert replies == ["You said: hello"] * 2
        for _ in range(3):
            halves = [WebRTCVoiceClient(http, base) for _ in range(2)]
            await asyncio.gather(*(half.offer() for half in halves))
            await asyncio.gather(*(half.close() for half in halves))
        await wait_for(lambda: voice_log().count("did not connect") == 6, timeout=30)
        await wait_for(lambda: voice_log().count("voice session ended") == 9, timeout=30)

        # The session issuer's pool may keep up to 4 connections open from the burst.
        async def released() -> bool:
            return await _client_count(redis_at_url.client) <= baseline + 4

        await wait_for(released, timeout=30)
        assert voice_log().count("Discarding peer connection") == 15


async def test_a_client_over_its_limits_is_refused_clearly(
    redis_at_url: RedisAtUrl, tmp_path: Path
) -> None:
    async with voice_service(
        redis_at_url,
        tmp_path,
        VOICE_MAX_SESSIONS_PER_CLIENT="2",
        VOICE_SIGNALLING_PER_MINUTE="9",
        VOICE_CONNECT_TIMEOUT="30",
    ) as (base, http):
        held = [WebRTCVoiceClient(http, base) for _ in range(3)]
        await held[0].offer()
        await held[1].offer()
        with pytest.raises(aiohttp.ClientResponseError) as third:
            await held[2].offer()
        statuses = []
        for _ in range(3):
            async with http.post(base + "/session", json={}) as response:
                statuses.append((response.status, response.headers.get("Retry-After")))
        for client in held:
            await client.close()

    assert third.value.status == 429
    assert statuses[-1][0] == 429 and int(statuses[-1][1] or 0) >= 1
    assert "too many open sessions from this client" in (tmp_path / "voice.log").read_text()


def test_the_service_full_or_flooded_with_starts_answers_503() -> None:
    sessions = LiveSessions()
    starts = {"count": 0}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        """Nothing is served here: only the limits' decisions are looked at."""

    limits = SignallingLimits(
        app,
        sessions=sessions,
        start_entries=lambda: starts["count"],
        max_sessions=4,
        max_sessions_per_client=2,
        signalling_per_minute=1000,
    )
    for number, client in enumerate(["a", "a", "b"]):
        assert limits.refusal("POST", "/api/offer", client) is None
        sessions.answered(f"pc-{number}", client)

    assert limits.refusal("POST", "/api/offer", "a") == (
        429,
        "too many open sessions from this client",
        30.0,
    )
    assert limits.refusal("POST", "/sessions/x/api/offer", "c") is None
    sessions.answered("pc-3", "c")
    full = limits.refusal("POST", "/sessions/x/api/offer", "d")
    assert full is not None and full[0] == 503
    sessions.ended("pc-2")
    assert limits.refusal("POST", "/sessions/x/api/offer", "d") is None
    assert limits.refusal("GET", "/", "d") is None  # the page is never counted
    starts["count"] = MAX_START_ENTRIES
    flooded = limits.refusal("POST", "/start", "d")
    assert flooded is not None and flooded[0] == 503
