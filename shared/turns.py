"""The wire format from voice to routers: user turns on the stream, barge-ins on a channel.

Each published turn is also listed in its session's set of open turns, scored by its send time,
until a router finishes it. A router answers a turn only when no earlier turn of the session is
still open, so a session's turns are answered in order even when two replicas read them.
"""

import redis.asyncio as aioredis

from shared import keys
from shared.commands import Commands
from shared.messages import Interrupt, UserTurn

TURN_FIELD = "turn"
"""The stream entry field holding the turn's JSON."""
OPEN_TURNS_TTL_SECONDS = 24 * 3600


async def publish_turn(redis: aioredis.Redis, turn: UserTurn) -> str:
    """Append a turn to the stream for exactly one router to answer; returns the entry id.

    The turn is listed as open before it is on the stream, so no router can finish it before
    it is listed."""
    open_turns = keys.session_open_turns(turn.session_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(open_turns, {turn.turn_id: turn.sent_at})
        pipe.expire(open_turns, OPEN_TURNS_TTL_SECONDS)
        await pipe.execute()
    try:
        return await redis.xadd(
            keys.TURNS_STREAM,
            {TURN_FIELD: turn.model_dump_json()},
            maxlen=keys.TURNS_STREAM_MAXLEN,
            approximate=True,
        )
    except Exception:
        await redis.zrem(open_turns, turn.turn_id)
        raise


async def earlier_turn_open(redis: aioredis.Redis, turn: UserTurn) -> bool:
    """Whether a turn the session sent before this one is still waiting for its answer."""
    earlier = await redis.zrangebyscore(
        keys.session_open_turns(turn.session_id), "-inf", f"({turn.sent_at!r}", start=0, num=1
    )
    return bool(earlier)


def close_turn_in(commands: Commands, session_id: str, turn_id: str) -> None:
    """Queue, with the writes that finish a turn, its removal from the open turns."""
    commands.add("ZREM", keys.session_open_turns(session_id), turn_id)


async def publish_interrupt(redis: aioredis.Redis, interrupt: Interrupt) -> None:
    """Tell every router that the user barged in on a response."""
    await redis.publish(keys.INTERRUPTS_CHANNEL, interrupt.model_dump_json())
