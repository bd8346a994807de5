"""Running timers by end time (`bot:timers:due`), shared by every router replica."""

import logging

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.bus import keys
from shared.bus.connection import decode_member, raw_members_by_score
from shared.dropped import drop
from shared.messages import SessionId

log = logging.getLogger(__name__)


class DueTimer(BaseModel):
    """A running timer as scheduled; its score is its end time."""

    model_config = ConfigDict(frozen=True)

    session_id: SessionId
    timer_id: str
    label: str


async def schedule_timer(redis: aioredis.Redis, due: DueTimer, ends_at: float) -> None:
    await redis.zadd(keys.TIMERS_DUE, {due.model_dump_json(): ends_at})


async def unschedule_timer(redis: aioredis.Redis, due: DueTimer) -> None:
    await redis.zrem(keys.TIMERS_DUE, due.model_dump_json())


async def claim_due_timers(redis: aioredis.Redis, now: float, count: int = 50) -> list[DueTimer]:
    """Timers ended by `now` that this replica removed from the schedule (ZREM decides which
    replica announces one); a member that cannot be read is removed and dropped."""
    claimed = []
    for member in await raw_members_by_score(redis, keys.TIMERS_DUE, now, count):
        if await redis.zrem(keys.TIMERS_DUE, member) != 1:
            continue  # another replica announces it
        try:
            claimed.append(DueTimer.model_validate_json(decode_member(member) or ""))
        except ValidationError:
            drop("timer", member)
    return claimed
