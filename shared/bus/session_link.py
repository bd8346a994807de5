"""A voice session's link to the routers: turns out on the stream, bot events in from pub/sub.

Events that must not be missed (task results, notices) are also in the session's durable inbox:
on connect the link first replays what this session has not heard yet, then goes live, and
remembers in Redis which ones it delivered, so a session that reconnects hears each once.
Live events (turn replies, actions) are also in a short "recent" stream: when the subscription
breaks (Redis restarted) the link resubscribes and replays the ones it missed meanwhile.
The text console uses it today; the Pipecat pipeline's processors wrap the same class.
"""

import logging
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.asyncio.client import PubSub
from redis.asyncio.connection import Connection

from shared.bus import keys
from shared.bus.commands import new_batch
from shared.bus.connection import log_outage, stream_entries, text, until_redis_answers
from shared.bus.turns import publish_interrupt, publish_turn
from shared.dropped import drop
from shared.messages import BOT_EVENT, MAX_TURN_CHARS, AnyBotEvent, Interrupt, UserTurn

log = logging.getLogger(__name__)

SPOKEN_BUS_DOWN = "Sorry, I can't reach the assistant right now. Please try again in a moment."
"""Said when a turn cannot be handed to the routers (Redis unreachable): it was not accepted."""
LIVE_HEARD_REMEMBERED = 2000
"""Live events remembered by (response, seq), to skip them in a replay; above the recent
stream's length."""


class ResubscribeAwarePubSub(PubSub):
    """redis-py's PubSub, counting the times it re-subscribed by itself after a reconnect:
    messages published while it was away are gone from pub/sub, so the link must replay."""

    resubscribed = 0

    async def on_connect(self, connection: Connection) -> None:
        if self.channels:
            self.resubscribed += 1
        await super().on_connect(connection)


class TurnTooLong(ValueError):
    """A turn longer than the routers take: refused before the stream, `SPOKEN_TOO_LONG`."""


class SessionLink:
    """Subscribes to one session's events; publishes that session's turns."""

    def __init__(
        self,
        redis: aioredis.Redis,
        session_id: str,
        profile: str = "default",
        max_turn_chars: int = MAX_TURN_CHARS,
    ) -> None:
        self.redis = redis
        self.session_id = session_id
        self.profile = profile
        self.max_turn_chars = max_turn_chars
        self._pubsub = self._new_pubsub()
        self._replayed_at = 0
        self._recent_cursor = "0-0"
        self._live_heard: set[tuple[str, int]] = set()
        self._live_heard_order: deque[tuple[str, int]] = deque()

    async def __aenter__(self) -> Self:
        # Subscribe before any turn is sent, so no reply can be published before we listen.
        await self._pubsub.subscribe(keys.session_events(self.session_id))
        # Live events from before we joined are not ours to replay.
        newest = stream_entries(
            await self.redis.xrevrange(keys.session_recent(self.session_id), count=1)
        )
        self._recent_cursor = newest[0][0] if newest else "0-0"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._pubsub.aclose()

    async def send_turn(self, text: str, heard_unsure: bool = False) -> UserTurn:
        """Publish what the user said (or typed) as a turn for the routers; TurnTooLong (with
        nothing sent) past BOT_MAX_TURN_CHARS, the routers' own limit."""
        if len(text.strip()) > self.max_turn_chars:
            raise TurnTooLong(f"{len(text)} characters, over {self.max_turn_chars}")
        turn = UserTurn(
            session_id=self.session_id, profile=self.profile, text=text, heard_unsure=heard_unsure
        )
        await publish_turn(self.redis, turn)
        return turn

    async def interrupt(self, response_id: str) -> None:
        """Tell the routers the user barged in on this response."""
        await publish_interrupt(
            self.redis, Interrupt(session_id=self.session_id, response_id=response_id)
        )

    def _parse(self, raw: str) -> AnyBotEvent | None:
        try:
            return BOT_EVENT.validate_json(raw)
        except ValidationError as exc:
            drop("bot event", raw, f"session={self.session_id}: {exc.errors()[0]['msg']}")
            return None

    async def _heard(self, inbox_id: str) -> bool:
        """Record that an inbox event reached this session; False if it had already.

        A set of heard ids, not a cursor: events of tasks running in parallel reach pub/sub in
        a different order than they were appended to the inbox.
        """
        key = keys.session_inbox_heard(self.session_id)
        marking = new_batch(self.redis)
        marking.sadd(key, inbox_id)
        marking.expire(key, keys.INBOX_TTL_SECONDS)
        added, _ = await marking.execute()
        return bool(added)

    async def missed_events(self) -> AsyncIterator[AnyBotEvent]:
        """Inbox events this session has not heard yet, oldest first."""
        entries = stream_entries(await self.redis.xrange(keys.session_inbox(self.session_id)))
        if entries:
            await self._forget_trimmed(entries[0][0])
        for entry_id, fields in entries:
            event = self._parse(fields.get(keys.EVENT_FIELD, ""))
            if event is not None and await self._heard(entry_id):
                yield event.model_copy(update={"inbox_id": entry_id})

    async def _forget_trimmed(self, oldest_id: str) -> None:
        """Drop heard ids of entries the capped inbox no longer holds."""
        key = keys.session_inbox_heard(self.session_id)
        heard = [text(member) for member in await self.redis.smembers(key)]
        gone = [i for i in heard if _stream_id(i) < _stream_id(oldest_id)]
        if gone:
            await self.redis.srem(key, *gone)

    def _new_pubsub(self) -> ResubscribeAwarePubSub:
        return ResubscribeAwarePubSub(self.redis.connection_pool, ignore_subscribe_messages=True)

    async def _resubscribe(self) -> None:
        """A fresh subscription, retried with backoff until Redis answers again."""

        async def subscribe() -> None:
            await self._pubsub.aclose()
            self._pubsub = self._new_pubsub()
            await self._pubsub.subscribe(keys.session_events(self.session_id))

        await until_redis_answers().call_with_retry(
            subscribe, log_outage(f"session={self.session_id} resubscribing")
        )
        log.info("session=%s resubscribed to its events", self.session_id)

    async def events(self) -> AsyncIterator[AnyBotEvent]:
        """Missed inbox events, then bot events as they arrive; malformed ones are logged and
        skipped, and an inbox event is delivered once. If Redis goes away, the link
        resubscribes when it is back and replays the inbox events it missed meanwhile."""
        async for missed in self.missed_events():
            yield missed
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except Exception as exc:
                # Besides connection errors, redis-py 8.1's pub/sub health check raises
                # AttributeError on a connection the server dropped.
                log.warning("session=%s lost its events channel (%r)", self.session_id, exc)
                await self._resubscribe()
                self._replayed_at = 0
                async for missed in self._replay_gap():
                    yield missed
                continue
            if self._pubsub.resubscribed != self._replayed_at:
                # redis-py reconnected and re-subscribed on its own: replay the gap too.
                self._replayed_at = self._pubsub.resubscribed
                log.info("session=%s resubscribed after a reconnect", self.session_id)
                async for missed in self._replay_gap():
                    yield missed
            if message is None or message.get("type") != "message":
                continue
            event = self._parse(message["data"])
            if event is None:
                continue
            if event.inbox_id is None:
                if self._first_hearing(event):
                    yield event
            elif await self._heard(event.inbox_id):
                yield event

    async def _replay_gap(self) -> AsyncIterator[AnyBotEvent]:
        """What the session missed while its subscription was down: inbox events it has not
        heard, then live events published since it joined that it has not heard."""
        async for event in self.missed_events():
            yield event
        async for event in self._missed_live_events():
            yield event

    def _first_hearing(self, event: AnyBotEvent) -> bool:
        """Remember a live event; False if it was heard already (live or in a replay)."""
        key = (event.response_id, event.seq)
        if key in self._live_heard:
            return False
        self._live_heard.add(key)
        self._live_heard_order.append(key)
        if len(self._live_heard_order) > LIVE_HEARD_REMEMBERED:
            self._live_heard.discard(self._live_heard_order.popleft())
        return True

    async def _missed_live_events(self) -> AsyncIterator[AnyBotEvent]:
        """Live events published since this link joined that it has not heard, oldest first
        (read with retries: Redis may still be coming back)."""
        reply = await until_redis_answers().call_with_retry(
            lambda: self.redis.xrange(
                keys.session_recent(self.session_id), min=f"({self._recent_cursor}"
            ),
            log_outage(f"session={self.session_id} reading recent events"),
        )
        for entry_id, fields in stream_entries(reply):
            self._recent_cursor = entry_id
            event = self._parse(fields.get(keys.EVENT_FIELD, ""))
            if event is not None and self._first_hearing(event):
                yield event


def _stream_id(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)
