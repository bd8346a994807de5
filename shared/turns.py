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
FINISHED_TTL_SECONDS = 3600
"""How long an answered turn is remembered, against duplicate stream entries of it."""


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
        OPEN_TURNS_TTL_SECONDS,
        keys.TURNS_STREAM_MAXLEN,
        TURN_FIELD,
    )


async def earlier_turn_open(redis: aioredis.Redis, turn: UserTurn) -> bool:
    """Whether a turn the session sent before this one is still waiting for its answer."""
    earlier = await redis.zrangebyscore(
        keys.session_open_turns(turn.session_id), "-inf", f"({turn.sent_at!r}", start=0, num=1
    )
    return bool(earlier)


def close_turn_in(commands: Commands, session_id: str, turn_id: str) -> None:
    """Queue, with the writes that finish a turn, its removal from the open turns and the
    mark that it was answered."""
    commands.add("ZREM", keys.session_open_turns(session_id), turn_id)
    commands.add("SET", keys.turn_finished(session_id, turn_id), "1", "EX", FINISHED_TTL_SECONDS)


async def turn_was_answered(redis: aioredis.Redis, turn: UserTurn) -> bool:
    return bool(await redis.exists(keys.turn_finished(turn.session_id, turn.turn_id)))


async def publish_interrupt(redis: aioredis.Redis, interrupt: Interrupt) -> None:
    """Tell every router that the user barged in on a response."""
    await redis.publish(keys.INTERRUPTS_CHANNEL, interrupt.model_dump_json())
