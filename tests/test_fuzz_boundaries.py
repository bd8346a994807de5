"""A fuzz suite: random bytes, random JSON and near-valid messages pushed into every boundary
a service reads from Redis, while a real router, an OpenClaw worker and a voice session's link
run; afterwards every process is alive and a normal turn is still answered. Hypothesis draws the
inputs (a fixed seed, so a failure reproduces); the counts are printed."""

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.bus import keys
from shared.bus.connection import connect_redis
from shared.bus.session_link import SessionLink
from shared.bus.task_queue import openclaw_queue
from shared.bus.tasks import TASK_JOB
from shared.bus.turns import TURN_FIELD
from tests.conftest import Listener, RedisAtUrl
from tests.fakes.openai_server import FakeOpenAI, FakeOpenClaw, echo_model
from tests.processes import (
    ROUTER_CONSUMING,
    hybrid_env,
    start_service,
    stop_services,
    wait_for,
    wait_for_log,
)

EXAMPLES = 300
SESSION = "fuzzed"

TURN = {"v": 1, "session_id": SESSION, "turn_id": "t1", "text": "hello", "sent_at": 1.0}
EVENT = {"v": 1, "session_id": SESSION, "response_id": "r1", "seq": 0, "type": "text", "text": "x"}
TIMER = {"session_id": SESSION, "timer_id": "x1", "label": "tea"}
TASK = [SESSION, "task-x"]
"""A task job's arguments, naming the task record the fuzzer fills with garbage."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def near(valid: dict) -> st.SearchStrategy[bytes]:
    """A valid message with one field dropped, retyped or set to an odd value."""
    odd: st.SearchStrategy[object] = st.sampled_from(
        [None, "", "nan", float("inf"), -1, 10**30, "\x00", "{", [], {}, "x" * 10_000]
    )

    def mutate(key: str, value: object, drop: bool) -> bytes:
        message = dict(valid)
        if drop:
            message.pop(key, None)
        else:
            message[key] = value
        return json.dumps(message, allow_nan=True).encode()

    return st.builds(mutate, st.sampled_from(sorted(valid)), odd, st.booleans())


def payloads(valid: dict) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v, allow_nan=True).encode()),
        near(valid),
    )


BOUNDARIES = ["turns", "interrupts", "timers", "leases", "inbox", "events", "tasks", "jobs"]


async def test_random_input_on_every_boundary_stops_nothing(
    redis_at_url: RedisAtUrl, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = redis_at_url.rq_connection
    tried: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.sampled_from(BOUNDARIES), st.data())
    def push(boundary: str, data: st.DataObject) -> None:
        tried[boundary] += 1
        match boundary:
            case "turns":
                field = data.draw(st.sampled_from([TURN_FIELD.encode(), b"\xff", b"other"]))
                raw.xadd(keys.TURNS_STREAM, {field: data.draw(payloads(TURN))})
            case "interrupts":
                raw.publish(keys.INTERRUPTS_CHANNEL, data.draw(payloads({"v": 1, **TURN})))
            case "timers":
                raw.zadd(keys.TIMERS_DUE, {data.draw(payloads(TIMER)): 0})
            case "leases":
                raw.zadd(keys.TASK_LEASES, {data.draw(payloads({"a": SESSION})): 0})
            case "inbox":
                raw.xadd(
                    keys.session_inbox(SESSION), {keys.EVENT_FIELD: data.draw(payloads(EVENT))}
                )
            case "events":
                raw.publish(keys.session_events(SESSION), data.draw(payloads(EVENT)))
            case "tasks":
                raw.hset(keys.session_tasks(SESSION), TASK[1], data.draw(payloads(TURN)))
            case "jobs":
                args = data.draw(st.one_of(st.lists(json_values, max_size=3), st.just(TASK)))
                openclaw_queue(raw).enqueue(TASK_JOB, *args)

    logs = {name: tmp_path / f"{name}.log" for name in ("router", "openclaw_worker")}
    with FakeOpenAI(fallback=echo_model) as model, FakeOpenClaw() as claw:
        env = hybrid_env(
            redis_at_url.url,
            model.base_url,
            claw.url,
            BOT_TASK_LEASE_SECONDS="0.6",
            BOT_TURNS_PER_MINUTE="10000",
        )
        services = [start_service(name, env, log) for name, log in logs.items()]
        try:
            await wait_for_log(logs["router"], ROUTER_CONSUMING)
            # The voice side's own client, as the voice service makes it.
            link = await SessionLink(connect_redis(redis_at_url.url), SESSION).__aenter__()
            session = Listener(link)
            assert (await session.ask("before")).text == "You said: before"

            push()

            await wait_for(lambda: not raw.zcard(keys.TIMERS_DUE), timeout=60)
            await wait_for(lambda: not raw.zcard(keys.TASK_LEASES), timeout=60)
            await wait_for(lambda: not openclaw_queue(raw).count, timeout=120)
            for service in services:
                assert service.poll() is None, "\n".join(
                    p.read_text()[-3000:] for p in logs.values()
                )
            assert (await session.ask("after")).text == "You said: after"
            session.close()
            await link.__aexit__(None, None, None)
        finally:
            stop_services(services)
    with capsys.disabled():
        print(f"\nfuzzed boundaries: {dict(sorted(tried.items()))} ({sum(tried.values())} inputs)")
    assert sum(tried.values()) >= EXAMPLES
    assert "Traceback" not in logs["router"].read_text()
