"""User profiles (`bot:profiles`, name → JSON): who the assistant acts for; each owns notes."""

import redis.asyncio as aioredis
from pydantic import BaseModel

from shared.bus import keys
from shared.bus.connection import text_map


class Profile(BaseModel):
    name: str
    description: str = ""
    created_at: float


REGISTER = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class ProfileStore:
    """The known profiles, for the tools that list, create and describe them."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def load_all(self) -> dict[str, Profile]:
        """Every known profile by name."""
        raw = text_map(await self._redis.hgetall(keys.PROFILES))
        return {name: Profile.model_validate_json(value) for name, value in raw.items()}

    async def add(self, profile: Profile) -> bool:
        """Register a profile unless one of that name exists; False (nothing registered) when
        it does not exist and MAX_PROFILES do: checked and written in one step, so replicas
        registering at once cannot pass the cap."""
        registered = await self._redis.eval(
            REGISTER, 1, keys.PROFILES, profile.name, profile.model_dump_json(), keys.MAX_PROFILES
        )
        return bool(registered)

    async def save(self, profile: Profile) -> None:
        await self._redis.hset(keys.PROFILES, profile.name, profile.model_dump_json())
