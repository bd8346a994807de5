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


class TimerSchedule:
    """Running timers by end time: set and cancelled by tools, claimed by the announcer."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def schedule(self, due: DueTimer, ends_at: float) -> None:
        await self._redis.zadd(keys.TIMERS_DUE, {due.model_dump_json(): ends_at})

    async def unschedule(self, due: DueTimer) -> None:
        await self._redis.zrem(keys.TIMERS_DUE, due.model_dump_json())

    async def claim_due(self, now: float, count: int) -> list[DueTimer]:
        """Up to `count` timers ended by `now` that this replica removed from the schedule
        (ZREM decides which replica announces one), in one round trip for the removals; a
        member that cannot be read is removed and dropped."""
        members = await raw_members_by_score(self._redis, keys.TIMERS_DUE, now, count)
        if not members:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for member in members:
                pipe.zrem(keys.TIMERS_DUE, member)
            removed = await pipe.execute()
        claimed = []
        for member, mine in zip(members, removed, strict=True):
            if mine != 1:
                continue  # another replica announces it
            try:
                claimed.append(DueTimer.model_validate_json(decode_member(member) or ""))
            except ValidationError:
                drop("timer", member)
        return claimed
