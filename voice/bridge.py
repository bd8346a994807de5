"""A voice session's link to the routers: turns out on the stream, bot events in from pub/sub.

The text console uses it today; the Pipecat pipeline's processors wrap the same class.
"""

import logging
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import redis.asyncio as aioredis
from pydantic import ValidationError

from shared import keys
from shared.messages import BOT_EVENT, AnyBotEvent, UserTurn
from shared.turns import publish_turn

log = logging.getLogger(__name__)


class SessionBridge:
    """Subscribes to one session's events; publishes that session's turns."""

    def __init__(self, redis: aioredis.Redis, session_id: str, profile: str = "default") -> None:
        self.redis = redis
        self.session_id = session_id
        self.profile = profile
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)

    async def __aenter__(self) -> Self:
        # Subscribe before any turn is sent, so no reply can be published before we listen.
        await self._pubsub.subscribe(keys.session_events(self.session_id))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._pubsub.aclose()

    async def send_turn(self, text: str) -> UserTurn:
        """Publish what the user said (or typed) as a turn for the routers."""
        turn = UserTurn(session_id=self.session_id, profile=self.profile, text=text)
        await publish_turn(self.redis, turn)
        return turn

    async def events(self) -> AsyncIterator[AnyBotEvent]:
        """Bot events for this session as they arrive; malformed ones are logged and skipped."""
        while True:
            message = await self._pubsub.get_message(timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            try:
                yield BOT_EVENT.validate_json(message["data"])
            except ValidationError as exc:
                log.warning(
                    "dropped malformed bot event session=%s: %s",
                    self.session_id,
                    exc.errors()[0]["msg"],
                )
