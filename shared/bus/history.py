"""A session's conversation, kept in Redis with a TTL and shared by the fast and slow paths."""

import json
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from shared.bus import keys
from shared.bus.commands import new_batch
from shared.bus.connection import text
from shared.settings import Settings
from shared.untrusted import parse_json

Message = dict[str, Any]
DEFAULT_MAX_BYTES = 32_000


def _parsed(item: str) -> Message | None:
    """A stored message, or None for an entry that is not one (it is skipped)."""
    try:
        message = parse_json(item)
    except ValueError:
        return None
    return message if isinstance(message, dict) and isinstance(message.get("role"), str) else None


def _capped(message: Message, max_chars: int) -> Message:
    content = message.get("content")
    if isinstance(content, str) and len(content) > max_chars:
        return {**message, "content": content[:max_chars] + " … (cut)"}
    return message


def _starts_cleanly(messages: list[Message]) -> list[Message]:
    """Drop leading messages until a user message, so trimming leaves no orphan tool result."""
    for index, message in enumerate(messages):
        if message.get("role") == "user":
            return messages[index:]
    return []


class SessionHistory:
    """Chat messages per session, newest last, trimmed to `max_messages` and, when loaded, to
    the newest that fit in `max_bytes`; each stored message's text is capped."""

    def __init__(
        self,
        redis: aioredis.Redis,
        ttl_seconds: int,
        max_messages: int,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self.max_messages = max_messages
        self.max_bytes = max_bytes

    @classmethod
    def from_settings(cls, redis: aioredis.Redis, settings: Settings) -> "SessionHistory":
        """The history as BOT_HISTORY_TTL, BOT_HISTORY_MAX_MESSAGES and _MAX_BYTES say."""
        return cls(
            redis,
            settings.bot_history_ttl,
            settings.bot_history_max_messages,
            settings.bot_history_max_bytes,
        )

    async def load(self, session_id: str) -> list[Message]:
        """The newest messages that fit in `max_bytes`, starting at a user message; entries
        that are not messages are skipped."""
        return self.messages_from(await self.redis.lrange(keys.session_history(session_id), 0, -1))

    def read_in(self, batch: Pipeline, session_id: str) -> None:
        """Queue reading the history with other reads (its reply goes to `messages_from`)."""
        batch.lrange(keys.session_history(session_id), 0, -1)

    def messages_from(self, reply: list[Any]) -> list[Message]:
        """What `load` returns, from the reply of an LRANGE of the whole history."""
        raw = [text(item) for item in reply]
        kept: list[Message] = []
        size = 0
        for item in reversed(raw):
            size += len(item.encode())
            message = _parsed(item)
            if size > self.max_bytes:
                break
            if message is not None:
                kept.append(message)
        return _starts_cleanly(kept[::-1])

    async def append(self, session_id: str, messages: list[Message]) -> None:
        """Add messages, trim and refresh the TTL in one transaction."""
        batch = new_batch(self.redis)
        self.append_in(batch, session_id, messages)
        await batch.execute()

    def append_in(self, batch: Pipeline, session_id: str, messages: list[Message]) -> None:
        """Queue the append on commands the caller runs together with other writes."""
        if not messages:
            return
        key = keys.session_history(session_id)
        max_chars = self.max_bytes // 4
        stored = (json.dumps(_capped(m, max_chars), ensure_ascii=False) for m in messages)
        batch.rpush(key, *stored)
        batch.ltrim(key, -self.max_messages, -1)
        batch.expire(key, self.ttl_seconds)
