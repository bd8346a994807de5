"""A session's conversation, kept in Redis with a TTL and shared by the fast and slow paths."""

import json
from typing import Any

import redis.asyncio as aioredis

from shared import keys
from shared.commands import Commands
from shared.settings import Settings

Message = dict[str, Any]


def _starts_cleanly(messages: list[Message]) -> list[Message]:
    """Drop leading messages until a user message, so trimming leaves no orphan tool result."""
    for index, message in enumerate(messages):
        if message.get("role") == "user":
            return messages[index:]
    return []


class SessionHistory:
    """Chat messages per session, newest last, trimmed to `max_messages`."""

    def __init__(self, redis: aioredis.Redis, ttl_seconds: int, max_messages: int) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self.max_messages = max_messages

    @classmethod
    def from_settings(cls, redis: aioredis.Redis, settings: Settings) -> "SessionHistory":
        """The history as BOT_HISTORY_TTL and BOT_HISTORY_MAX_MESSAGES say."""
        return cls(redis, settings.history_ttl_seconds, settings.history_max_messages)

    async def load(self, session_id: str) -> list[Message]:
        raw = await self.redis.lrange(keys.session_history(session_id), 0, -1)
        return _starts_cleanly([json.loads(item) for item in raw])

    async def append(self, session_id: str, messages: list[Message]) -> None:
        """Add messages, trim and refresh the TTL in one transaction."""
        commands = Commands()
        self.append_in(commands, session_id, messages)
        await commands.run(self.redis)

    def append_in(self, commands: Commands, session_id: str, messages: list[Message]) -> None:
        """Queue the append on commands the caller runs together with other writes."""
        if not messages:
            return
        key = keys.session_history(session_id)
        commands.add("RPUSH", key, *(json.dumps(m, ensure_ascii=False) for m in messages))
        commands.add("LTRIM", key, -self.max_messages, -1)
        commands.add("EXPIRE", key, self.ttl_seconds)
