"""A profile's notes (`bot:profile:{profile}:notes`, note id → JSON), numbered as created."""

import redis.asyncio as aioredis
from pydantic import BaseModel

from shared.bus import keys


class Note(BaseModel):
    """One stored note."""

    id: str
    title: str
    text: str = ""
    created_at: float
    updated_at: float
    number: int = 0
    """Creation number from a Redis counter (0: a note stored before notes were numbered)."""

    @property
    def creation_order(self) -> tuple[int, float, str]:
        """A total order: the creation number, then the time and the id, so ties never fall
        back on the order Redis happens to return a hash in."""
        return (self.number, self.created_at, self.id)


class NoteStore:
    """Every profile's notes, for the tools that read and change them."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def load(self, profile: str) -> list[Note]:
        """The profile's notes, oldest first (the order "note 3" counts in)."""
        raw = await self._redis.hvals(keys.profile_notes(profile))
        notes = (Note.model_validate_json(item) for item in raw)
        return sorted(notes, key=lambda n: n.creation_order)

    async def save(self, profile: str, note: Note) -> None:
        await self._redis.hset(keys.profile_notes(profile), note.id, note.model_dump_json())

    async def delete(self, profile: str, note_id: str) -> None:
        await self._redis.hdel(keys.profile_notes(profile), note_id)

    async def next_number(self, profile: str) -> int:
        """The creation number of the profile's next note."""
        return int(await self._redis.incr(keys.profile_note_counter(profile)))

    async def count(self, profile: str) -> int:
        return int(await self._redis.hlen(keys.profile_notes(profile)))
