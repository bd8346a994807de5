"""Router replicas on one consumer group: each turn answered once, stale turns taken over."""

import asyncio
import json
import threading
from collections import Counter

import redis.asyncio as aioredis

from shared.bus import keys
from shared.bus.turns import publish_turn
from shared.messages import ActionEvent, ResponseDone, UserTurn
from tests.conftest import model_settings
from tests.fakes.openai_server import CallTools, FakeOpenAI, Hang, Say
from tests.processes import wait_for


async def test_two_routers_answer_each_turn_exactly_once(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.fallback = lambda request: Say(f"You said {request['messages'][-1]['content']}.")
    settings = model_settings(fake_model)
    await start_router(settings, name="router-a")
    await start_router(settings, name="router-b")
    sessions = [await listen(f"s{i}") for i in range(5)]

    turns = [await s.link.send_turn(f"turn {i}") for i in range(4) for s in sessions]
    for session in sessions:
        for turn in turns:
            if turn.session_id == session.link.session_id:
                response = await session.wait_done(turn.turn_id)
                assert response.text == f"You said {turn.text}."

    dones = Counter(
        e.response_id
        for s in sessions
        for r in s.responses.values()
        for e in r.events
        if isinstance(e, ResponseDone)
    )
    assert dones == Counter({t.turn_id: 1 for t in turns})
    assert len(fake_model.requests) == len(turns)
    consumers = await redis_client.xinfo_consumers(keys.TURNS_STREAM, keys.ROUTER_GROUP)
    assert {c["name"] for c in consumers} == {"router-a", "router-b"}


async def test_a_turn_left_by_a_dead_router_is_reclaimed_and_answered(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(Say("Sorry for the wait."))
    session = await listen("s1")
    await redis_client.xgroup_create(keys.TURNS_STREAM, keys.ROUTER_GROUP, id="0", mkstream=True)
    turn = UserTurn(session_id="s1", text="hello?")
    await publish_turn(redis_client, turn)
    # A router that reads the turn and dies before answering it.
    taken = await redis_client.xreadgroup(
        keys.ROUTER_GROUP, "router-dead", {keys.TURNS_STREAM: ">"}, count=1
    )
    assert taken

    await start_router(model_settings(fake_model), name="router-alive", reclaim_idle_ms=50)
    response = await session.wait_done(turn.turn_id)

    assert response.text == "Sorry for the wait."
    assert len(fake_model.requests) == 1


async def test_turns_of_one_session_are_answered_in_order(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.fallback = lambda request: Say(f"Answer to {request['messages'][-1]['content']}.")
    await start_router(model_settings(fake_model))
    session = await listen("s1")
    turns = [await session.link.send_turn(f"question {i}") for i in range(5)]
    await asyncio.gather(*(session.wait_done(t.turn_id) for t in turns))

    asked = [r["messages"][-1]["content"] for r in fake_model.requests]
    assert asked == [f"question {i}" for i in range(5)]
    # Each model call saw the previous exchanges: the history is sequential.
    assert [len(r["messages"]) for r in fake_model.requests] == [2, 4, 6, 8, 10]


async def test_a_turn_taken_over_mid_way_goes_on_without_running_its_tools_again(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(
        CallTools([("create_note", {"title": "groceries", "text": "milk"})]),
        Hang(),
        Say("I made the groceries note."),
    )
    first = await start_router(model_settings(fake_model), name="router-first")
    session = await listen("s1")
    turn = await session.link.send_turn("note that I need milk")

    await wait_for(lambda: len(fake_model.requests) >= 2, 10)
    await first.crash()
    await start_router(model_settings(fake_model), name="router-second", reclaim_idle_ms=100)
    response = await session.wait_done(turn.turn_id)

    assert response.text == "I made the groceries note."
    assert response.done.error is None
    # Numbered after anything the first attempt said, so the voice side does not drop it.
    assert [e.seq for e in response.events if not isinstance(e, ActionEvent)] == [10_000, 10_001]
    notes = await redis_client.hvals(keys.profile_notes("default"))
    assert [json.loads(n)["title"] for n in notes] == ["groceries"]
    resumed = fake_model.requests[2]["messages"]
    assert [m["role"] for m in resumed[-3:]] == ["user", "assistant", "tool"]
    assert resumed[-1]["content"] == "Created note 'groceries'."
    # Finished: nothing left pending, the journal is gone, history has the whole exchange.
    assert (await redis_client.xpending(keys.TURNS_STREAM, keys.ROUTER_GROUP))["pending"] == 0
    assert not await redis_client.exists(keys.turn_journal("s1", turn.turn_id))
    history = await redis_client.lrange(keys.session_history("s1"), 0, -1)
    assert [json.loads(m)["role"] for m in history] == ["user", "assistant", "tool", "assistant"]


async def test_turns_of_one_session_stay_in_order_across_two_routers(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.fallback = lambda request: Say(
        f"Answer to {request['messages'][-1]['content']}.", delay=0.05
    )
    # One turn at a time each, so both routers take turns of the session.
    routers = [
        await start_router(model_settings(fake_model), name=name, concurrency=1)
        for name in ("router-a", "router-b")
    ]
    session = await listen("s1")
    turns = [await session.link.send_turn(f"question {i}") for i in range(6)]
    await asyncio.gather(*(session.wait_done(t.turn_id) for t in turns))

    asked = [r["messages"][-1]["content"] for r in fake_model.requests]
    assert asked == [f"question {i}" for i in range(6)]
    assert [len(r["messages"]) for r in fake_model.requests] == [2, 4, 6, 8, 10, 12]
    consumers = await routers[0].consumer.redis.xinfo_consumers(
        keys.TURNS_STREAM, keys.ROUTER_GROUP
    )
    assert len(consumers) == 2


async def test_a_turn_sent_twice_is_answered_once(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    """A client whose XADD reply was lost sends the same turn again: one answer, one model call."""
    fake_model.fallback = lambda request: Say(f"You said {request['messages'][-1]['content']}.")
    await start_router(model_settings(fake_model))
    session = await listen("s1")
    turn = UserTurn(session_id="s1", text="once")

    await publish_turn(redis_client, turn)
    await session.wait_done(turn.turn_id)
    await publish_turn(redis_client, turn)  # the retry
    after = await session.ask("and then")  # a session's turns are answered in order

    assert after.text == "You said and then."
    dones = [e for e in session.arrivals if isinstance(e, ResponseDone)]
    assert [d.response_id for d in dones] == [turn.turn_id, after.done.response_id]
    assert len(fake_model.requests) == 2


async def test_a_taken_over_turn_does_not_say_again_what_the_user_heard(
    redis_client: aioredis.Redis, fake_model: FakeOpenAI, start_router, listen
) -> None:
    """The first router said two sentences and died; the model, asked again, starts over: the
    user hears each sentence once."""
    reply = "One is here. Two is here. Three is here. Four is here."
    stalled = threading.Event()
    fake_model.script(
        Say(reply, pause_after="One is here. Two is here. Th", resume=stalled), Say(reply)
    )
    first = await start_router(model_settings(fake_model), name="router-first")
    session = await listen("s1")
    turn = await session.link.send_turn("count for me")
    await session.wait_until(lambda: len(session.response(turn.turn_id).chunks) == 2)
    await first.crash()
    await start_router(model_settings(fake_model), name="router-second", reclaim_idle_ms=100)
    response = await session.wait_done(turn.turn_id)

    assert response.chunks == ["One is here.", "Two is here.", "Three is here.", "Four is here."]
    history = await redis_client.lrange(keys.session_history("s1"), 0, -1)
    assert json.loads(history[-1])["content"] == reply
