"""Faults with real processes on real Redis: routers killed mid-turn and under load.

Each scenario starts the services' own commands (as docker-compose.yml runs them), kills one
with SIGKILL where the scenario says so, and checks what the user hears: every turn answered
once, in order per session, and no tool run twice.
"""

import json
import signal
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from shared.bus import keys
from shared.messages import ResponseDone
from tests.conftest import RedisAtUrl
from tests.fakes.openai_server import CallTools, FakeOpenAI, Hang, Reply, Say
from tests.processes import (
    ROUTER_CONSUMING,
    service_env,
    start_service,
    stop_services,
    wait_for,
    wait_for_log,
)


@pytest.fixture
def redis_client(redis_at_url: RedisAtUrl) -> aioredis.Redis:
    """Listeners use the real Redis the service processes use."""
    return redis_at_url.client


def router_env(redis_at_url: RedisAtUrl, model: FakeOpenAI, **values: str) -> dict[str, str]:
    return service_env(
        redis_at_url.url,
        OPENAI_BASE_URL=model.base_url,
        OPENAI_API_KEY="sk-test",
        BOT_TIER0="false",
        BOT_TURN_RECLAIM_IDLE_MS="1500",
        **values,
    )


async def test_a_router_killed_mid_turn_is_taken_over_and_its_tool_runs_once(
    redis_at_url: RedisAtUrl, listen, tmp_path: Path
) -> None:
    replies: list[Reply] = [
        CallTools([("create_note", {"title": "groceries", "text": "milk"})]),
        Hang(),
        Say("I made the groceries note."),
    ]
    with FakeOpenAI(replies) as model:
        env = router_env(redis_at_url, model)
        doomed = start_service("router", env, tmp_path / "doomed.log")
        processes = [doomed]
        try:
            await wait_for_log(tmp_path / "doomed.log", ROUTER_CONSUMING)
            session = await listen("s1")
            turn = await session.link.send_turn("note that I need milk")

            await wait_for(lambda: len(model.requests) == 2)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)
            processes.append(start_service("router", env, tmp_path / "successor.log"))
            response = await session.wait_done(turn.turn_id, timeout=60)
        finally:
            stop_services(processes)

    assert response.text == "I made the groceries note."
    dones = [e for e in session.arrivals if isinstance(e, ResponseDone)]
    assert [d.response_id for d in dones] == [turn.turn_id]
    notes = await redis_at_url.client.hvals(keys.profile_notes("default"))
    assert [json.loads(n)["title"] for n in notes] == ["groceries"]
    assert len(model.requests) == 3
    # The successor handed the model the journaled result of the first run, not a second run's
    # ("a note called 'groceries' already exists").
    tool_results = [m for m in model.requests[2]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_results] == ["Created note 'groceries'."]
    successor_log = (tmp_path / "successor.log").read_text()
    assert "reclaimed stale turn" in successor_log
    assert "resuming turn session=s1" in successor_log


SESSIONS = 50
TURNS_PER_SESSION = 4


async def test_200_turns_50_sessions_2_routers_one_killed_and_restarted(
    redis_at_url: RedisAtUrl, listen, tmp_path: Path
) -> None:
    def answer(request: dict) -> Say:
        # A little model time, so the killed router has turns in flight.
        return Say(f"Answer to {request['messages'][-1]['content']}.", delay=0.05)

    with FakeOpenAI(fallback=answer) as model:
        env = router_env(redis_at_url, model)
        logs = [tmp_path / "router-a.log", tmp_path / "router-b.log"]
        routers = [start_service("router", env, log) for log in logs]
        processes = list(routers)
        try:
            for log in logs:
                await wait_for_log(log, ROUTER_CONSUMING)
            sessions = [await listen(f"load{i}") for i in range(SESSIONS)]
            sent: dict[str, list[str]] = defaultdict(list)
            for round_ in range(TURNS_PER_SESSION):
                for session in sessions:
                    turn = await session.link.send_turn(f"{session.link.session_id} {round_}")
                    sent[session.link.session_id].append(turn.turn_id)

            def answered(count: int) -> bool:
                return (
                    sum(isinstance(e, ResponseDone) for s in sessions for e in s.arrivals) >= count
                )

            await wait_for(lambda: answered(40), timeout=120)
            routers[0].send_signal(signal.SIGKILL)
            routers[0].wait(10)
            await wait_for(lambda: answered(100), timeout=120)
            processes.append(start_service("router", env, logs[0]))
            await wait_for(lambda: answered(SESSIONS * TURNS_PER_SESSION), timeout=180)
        finally:
            stop_services(processes)

    for session in sessions:
        session_id = session.link.session_id
        dones = [e.response_id for e in session.arrivals if isinstance(e, ResponseDone)]
        assert dones == sent[session_id], (session_id, dones, sent[session_id])
        for round_, turn_id in enumerate(sent[session_id]):
            response = session.response(turn_id)
            assert response.chunks[-1] == f"Answer to {session_id} {round_}."
            assert response.done.error is None
    assert (
        Counter(
            e.response_id for s in sessions for e in s.arrivals if isinstance(e, ResponseDone)
        ).most_common(1)[0][1]
        == 1
    )
    pending = await redis_at_url.client.xpending(keys.TURNS_STREAM, keys.ROUTER_GROUP)
    assert pending["pending"] == 0
