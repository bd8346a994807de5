"""The key census: everything sessions create expires, or is on a short list with its bound.

Several sessions on two profiles use every feature (notes, windows, YouTube, music, sprite,
views, profiles, timers, delegated tasks run by a worker and cancelled ones, a rate limit, a
question left unanswered), then end; every key left in Redis must have a TTL unless
`keys.UNEXPIRING` names its family, and each of those is bounded in count (checked here) and
written up in docs/reliability.md.
"""

import fnmatch
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from router.tools.timers import announce_due_timers
from shared.bus import keys
from shared.bus.sessions import shared_access_token, signing_secret
from tests.conftest import RedisAtUrl, model_settings
from tests.fakes.openai_server import CallTools, FakeOpenAI, FakeOpenClaw, Reply, Say
from tests.test_delegation import run_worker_burst

ROOT = Path(__file__).resolve().parent.parent
COMMANDS: dict[str, list[tuple[str, dict[str, Any] | str]]] = {
    "note": [("create_note", {"title": "groceries", "text": "milk"})],
    "add": [("append_to_note", {"title": "groceries", "text": "eggs"})],
    "window": [("open_window", {"app": "browser"}), ("window_action", {"action": "close"})],
    "play": [("youtube_play", {"query": "lofi"}), ("soundtrack_play", {"mood": "calm"})],
    "look": [("set_sprite", {"sprite": "cat"}), ("switch_view", {"view": "notes"})],
    "profile": [("switch_profile", {"name": "bob", "create": True}), ("list_profiles", {})],
    "timer": [("set_timer", {"seconds": 1, "label": "tea"})],
    "research": [("bot_openclaw_task", {"task": "research tea", "label": "the tea research"})],
    "cancel": [("cancel_openclaw_task", {})],
    "delete": [("delete_note", {"title": "groceries"})],
    "sneaky": [("switch_view", {"view": "media"})],
}
SAID = {
    "note": "note: make a note",
    "add": "add eggs",
    "window": "window: open the browser and close it",
    "play": "play lofi and calm music",
    "look": "look: the cat sprite in the notes view",
    "timer": "timer for tea",
    "research": "research tea",
    "cancel": "cancel it",
    "delete": "delete groceries",
    "profile": "profile: switch to bob",
    "sneaky": "sneaky hi",
}
"""What the user says for each command: their own words ask for each action (the sneaky one
does not: the router asks first, and that question is kept until it expires)."""


def census_model(request: dict[str, Any]) -> Reply:
    last = request["messages"][-1]
    if last["role"] == "tool":
        return Say("Done.")
    word = last["content"].split()[0].rstrip(":")
    return CallTools(COMMANDS[word]) if word in COMMANDS else Say("Hello.")


@pytest.fixture
def redis_client(redis_at_url: RedisAtUrl) -> aioredis.Redis:
    return redis_at_url.client


@pytest.fixture
def claw(monkeypatch: pytest.MonkeyPatch, redis_at_url: RedisAtUrl) -> Any:
    with FakeOpenClaw(fallback=lambda _request: Say("Tea is a drink.")) as server:
        monkeypatch.setenv("REDIS_URL", redis_at_url.url)
        monkeypatch.setenv("OPENCLAW_API_URL", server.url)
        yield server


async def _unexpiring(redis: aioredis.Redis) -> list[str]:
    return [key async for key in redis.scan_iter(count=1000) if await redis.ttl(key) == -1]


def _family(key: str) -> str | None:
    return next((p for p in keys.UNEXPIRING if fnmatch.fnmatchcase(key, p)), None)


async def test_every_key_sessions_leave_expires_or_is_listed_with_its_bound(
    redis_at_url: RedisAtUrl, claw: FakeOpenClaw, start_router, listen
) -> None:
    redis = redis_at_url.client
    with FakeOpenAI(fallback=census_model) as model:
        settings = model_settings(
            model, OPENCLAW_API_URL=claw.url, REDIS_URL=redis_at_url.url, BOT_TURNS_PER_MINUTE=12
        )
        router = await start_router(settings)
        for number in range(4):
            session = await listen(f"census{number}", profile="alice" if number % 2 else "default")
            for said in ("note", "add", "window", "play", "look", "timer", "research"):
                await session.ask(SAID[said])
            await run_worker_burst(redis_at_url)
            await session.wait_until(lambda s=session: len(s.responses) >= 8)
            for said in ("research", "cancel", "delete", "profile", "sneaky", "hi", "hi", "hi"):
                await session.ask(SAID.get(said, said))
            await session.ask("hi")  # over BOT_TURNS_PER_MINUTE: "slow down"
        assert await announce_due_timers(redis, now=10**10) == 4
        await router.stop()
    # What a voice service beyond loopback keeps: the shared session secret and access token.
    await signing_secret(redis)
    await shared_access_token(redis)

    left = await _unexpiring(redis)
    unlisted = sorted(key for key in left if _family(key) is None)
    assert unlisted == []
    families = {_family(key) for key in left}
    # Each listed family that is left is bounded as its entry says.
    assert await redis.hlen(keys.PROFILES) <= keys.MAX_PROFILES
    assert await redis.xlen(keys.TURNS_STREAM) <= keys.TURNS_STREAM_MAXLEN
    assert await redis.zcard(keys.TIMERS_DUE) == 0
    assert await redis.zcard(keys.TASK_LEASES) == 0
    assert {keys.VOICE_SESSION_SECRET, keys.VOICE_ACCESS_TOKEN} <= set(left)
    assert not await redis.exists(f"rq:canceled:{keys.OPENCLAW_QUEUE}")
    documented = (ROOT / "docs" / "reliability.md").read_text()
    assert [p for p in keys.UNEXPIRING if f"`{p}`" not in documented] == []
    assert families  # the census saw the listed families, not an empty Redis
    assert await redis.exists(*(keys.session_confirmation(f"census{n}") for n in range(4))) == 4
