"""Barge-ins heard by this router: the replies it must stop streaming.

Every replica subscribes to one channel and remembers recently interrupted responses, each by
its session and response id: an interrupt stops only a response of the session that sent it
(one naming another session's response id stops nothing). The replica answering that turn
stops at its next sentence. A missed interrupt costs only a few sentences the voice side drops
anyway.
"""

import asyncio
import logging
import time

import redis.asyncio as aioredis
from pydantic import ValidationError

from shared.bus.turns import follow_interrupts
from shared.dropped import drop
from shared.messages import Interrupt

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 300.0
"""How long an interrupted response id is remembered."""


Interrupted = tuple[str, str]
"""(session id, response id) of an interrupted response."""


class Interrupts:
    """Interrupted responses, as announced on `bot:interrupts`."""

    def __init__(self) -> None:
        self._interrupted: dict[Interrupted, float] = {}

    def add(self, session_id: str, response_id: str) -> None:
        now = time.monotonic()
        self._interrupted[(session_id, response_id)] = now
        for stale in [key for key, at in self._interrupted.items() if now - at > REMEMBER_SECONDS]:
            del self._interrupted[stale]

    def __contains__(self, response: Interrupted) -> bool:
        return response in self._interrupted

    async def listen(self, redis: aioredis.Redis, stop: asyncio.Event) -> None:
        """Follow the interrupts channel until `stop` is set, resubscribing after errors."""
        await follow_interrupts(redis, self._take, stop)

    def _take(self, raw: str) -> None:
        try:
            interrupt = Interrupt.model_validate_json(raw)
            self.add(interrupt.session_id, interrupt.response_id)
        except ValidationError:
            drop("interrupt", raw)
