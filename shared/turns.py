"""The wire format from voice to routers: user turns on the stream, barge-ins on a channel."""

import redis.asyncio as aioredis

from shared import keys
from shared.messages import Interrupt, UserTurn

TURN_FIELD = "turn"
"""The stream entry field holding the turn's JSON."""


async def publish_turn(redis: aioredis.Redis, turn: UserTurn) -> str:
    """Append a turn to the stream for exactly one router to answer; returns the entry id."""
    return await redis.xadd(
        keys.TURNS_STREAM,
        {TURN_FIELD: turn.model_dump_json()},
        maxlen=keys.TURNS_STREAM_MAXLEN,
        approximate=True,
    )


async def publish_interrupt(redis: aioredis.Redis, interrupt: Interrupt) -> None:
    """Tell every router that the user barged in on a response."""
    await redis.publish(keys.INTERRUPTS_CHANNEL, interrupt.model_dump_json())
