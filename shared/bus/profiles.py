"""User profiles (`bot:profiles`, name → JSON): who the assistant acts for; each owns notes."""

import redis.asyncio as aioredis
from pydantic import BaseModel

from shared.bus import keys
from shared.bus.connection import text_map


class Profile(BaseModel):
    name: str
    description: str = ""
    created_at: float


async def load_profiles(redis: aioredis.Redis) -> dict[str, Profile]:
    """Every known profile by name."""
    raw = text_map(await redis.hgetall(keys.PROFILES))
    return {name: Profile.model_validate_json(value) for name, value in raw.items()}


async def add_profile(redis: aioredis.Redis, profile: Profile) -> None:
    """Register a profile unless one of that name exists."""
    await redis.hsetnx(keys.PROFILES, profile.name, profile.model_dump_json())


async def save_profile(redis: aioredis.Redis, profile: Profile) -> None:
    await redis.hset(keys.PROFILES, profile.name, profile.model_dump_json())
