"""User profiles (`bot:profiles`, name → JSON): who the assistant acts for; each owns notes."""

import redis.asyncio as aioredis
from pydantic import BaseModel

from shared.bus import keys
from shared.bus.connection import text_map


class Profile(BaseModel):
    name: str
    description: str = ""
    created_at: float


class ProfileStore:
    """The known profiles, for the tools that list, create and describe them."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def load_all(self) -> dict[str, Profile]:
        """Every known profile by name."""
        raw = text_map(await self._redis.hgetall(keys.PROFILES))
        return {name: Profile.model_validate_json(value) for name, value in raw.items()}

    async def add(self, profile: Profile) -> None:
        """Register a profile unless one of that name exists."""
        await self._redis.hsetnx(keys.PROFILES, profile.name, profile.model_dump_json())

    async def save(self, profile: Profile) -> None:
        await self._redis.hset(keys.PROFILES, profile.name, profile.model_dump_json())
