"""The turn stream's wire format: how a voice service hands a user turn to the routers."""

import redis.asyncio as aioredis

from shared import keys
from shared.messages import UserTurn

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
