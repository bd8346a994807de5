"""Barge-ins heard by this router: the replies it must stop streaming.

Every replica subscribes to one channel and remembers recently interrupted response ids; the
replica answering that turn stops at its next sentence. A missed interrupt costs only a few
sentences the voice side drops anyway.
"""

import asyncio
import contextlib
import logging
import time

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared import keys
from shared.connection import log_outage, until_redis_answers
from shared.dropped import drop
from shared.messages import Interrupt

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 300.0
"""How long an interrupted response id is remembered."""


class Interrupts:
    """Interrupted response ids, as announced on `bot:interrupts`."""

    def __init__(self) -> None:
        self._interrupted: dict[str, float] = {}

    def add(self, response_id: str) -> None:
        now = time.monotonic()
        self._interrupted[response_id] = now
        for stale in [rid for rid, at in self._interrupted.items() if now - at > REMEMBER_SECONDS]:
            del self._interrupted[stale]

    def __contains__(self, response_id: str) -> bool:
        return response_id in self._interrupted

    async def listen(self, redis: aioredis.Redis, stop: asyncio.Event) -> None:
        """Follow the interrupts channel until `stop` is set, resubscribing after errors."""

        async def follow() -> None:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(keys.INTERRUPTS_CHANNEL)
                while not stop.is_set():
                    message = await pubsub.get_message(timeout=0.5)
                    if message and message.get("type") == "message":
                        self._take(message["data"])

        with contextlib.suppress(RedisConnectionError, RedisTimeoutError):  # stopped meanwhile
            await until_redis_answers().call_with_retry(
                follow, log_outage("interrupts channel"), is_retryable=lambda _: not stop.is_set()
            )

    def _take(self, raw: str) -> None:
        try:
            self.add(Interrupt.model_validate_json(raw).response_id)
        except ValidationError:
            drop("interrupt", raw)
