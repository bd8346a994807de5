"""Publishing one response's events to its session, numbered in order.

Turn replies go out on pub/sub: the user is listening. Each is also added to the session's
short "recent" stream, from which a voice session link that lost its subscription for a moment (a
Redis restart) replays what it missed. Task results and notices may land while no voice session
listens, so they are appended to the session's durable inbox first;
their sequence numbers come from Redis, because several processes (the router that queued a
task, the worker that runs it, a worker that retries it) add events to the same response.
"""

from collections.abc import Callable
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.asyncio.client import Pipeline

from shared.actions import AnyAction
from shared.bus import keys
from shared.bus.commands import new_batch
from shared.bus.connection import stream_entries
from shared.messages import (
    BOT_EVENT,
    ActionEvent,
    BotEvent,
    ResponseDone,
    TaskStatus,
    TaskStatusEvent,
    TextChunk,
)


def send_live_event_in(batch: Pipeline, session_id: str, message: str) -> None:
    """Queue sending a live event on `batch`: publish it, and add it to the session's recent
    stream (for a link that was reconnecting)."""
    recent = keys.session_recent(session_id)
    batch.publish(keys.session_events(session_id), message)
    batch.xadd(recent, {keys.EVENT_FIELD: message}, maxlen=keys.RECENT_MAXLEN, approximate=True)
    batch.expire(recent, keys.RECENT_TTL_SECONDS)


class ResponsePublisher:
    """Sends the events of one response (a turn's reply, a task's result, a notice), numbered
    in order; `LiveResponse` and `DurableResponse` say how each event goes out."""

    def __init__(
        self,
        redis: aioredis.Redis,
        session_id: str,
        response_id: str,
        origin: Literal["turn", "task", "notice"] = "turn",
    ) -> None:
        self.redis = redis
        self.session_id = session_id
        self.response_id = response_id
        self.origin = origin
        self.seq = 0
        self.spoken: list[str] = []
        """Every text chunk sent, so the caller can record what the user heard."""

    def _fields(self, seq: int) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "response_id": self.response_id,
            "seq": seq,
            "origin": self.origin,
        }

    async def _publish(self, make: Callable[[dict[str, Any]], BotEvent]) -> None:
        raise NotImplementedError

    async def text(self, text: str) -> None:
        """Publish one speakable chunk."""
        await self._publish(lambda fields: TextChunk(**fields, text=text))
        self.spoken.append(text)

    async def status(self, status: TaskStatus, label: str, message: str = "") -> None:
        """Publish how a task is going."""
        await self._publish(
            lambda fields: TaskStatusEvent(**fields, status=status, label=label, message=message)
        )

    async def done(self, error: str | None = None) -> None:
        """Publish the end of the response; `error` names why it ended early, if it did."""
        await self._publish(lambda fields: _done_event(fields, error))


def _done_event(fields: dict[str, Any], error: str | None) -> ResponseDone:
    return ResponseDone(**fields, outcome="error" if error else "ok", error=error)


TAKEOVER_SEQ_STEP = 10_000
"""A taken-over turn numbers its events from this times the earlier attempts: the voice side
drops events numbered at or below what it has heard of a response, and must hear the new ones."""


class LiveResponse(ResponsePublisher):
    """A turn's reply (the user is listening): pub/sub, plus the session's short recent stream
    for a link that was reconnecting. Numbered here; its actions and its done event can go out
    inside the caller's own transaction."""

    @classmethod
    def for_attempt(
        cls, redis: aioredis.Redis, session_id: str, turn_id: str, attempt: int
    ) -> "LiveResponse":
        """The reply of one attempt at a turn, numbered after every earlier attempt's."""
        response = cls(redis, session_id, turn_id)
        response.seq = (attempt - 1) * TAKEOVER_SEQ_STEP
        return response

    async def _publish(self, make: Callable[[dict[str, Any]], BotEvent]) -> None:
        event = make(self._fields(self.seq))
        sending = new_batch(self.redis)
        send_live_event_in(sending, self.session_id, event.model_dump_json())
        await sending.execute()
        self.seq += 1

    def action_events(self, actions: list[AnyAction]) -> list[str]:
        """JSON of action events numbered from the current position, for the caller to publish
        inside its own transaction; call `advance` once they are published."""
        return [
            ActionEvent(**self._fields(self.seq + i), action=action).model_dump_json()
            for i, action in enumerate(actions)
        ]

    def advance(self, published: int) -> None:
        self.seq += published

    def read_said_in(self, batch: Pipeline) -> None:
        """Queue reading the session's recent stream (its reply goes to `said_from`)."""
        batch.xrange(keys.session_recent(self.session_id))

    def said_from(self, reply: Any) -> list[str]:
        """What earlier attempts of this response already said, in order, from the session's
        recent stream (bounded: RECENT_MAXLEN entries; unreadable ones skipped)."""
        entries = stream_entries(reply)
        said: list[tuple[int, str]] = []
        for _entry_id, fields in entries:
            try:
                event = BOT_EVENT.validate_json(fields.get(keys.EVENT_FIELD, ""))
            except ValidationError:
                continue
            if isinstance(event, TextChunk) and event.response_id == self.response_id:
                said.append((event.seq, event.text))
        return [text for _seq, text in sorted(said)]

    def done_in(self, batch: Pipeline, error: str | None = None) -> None:
        """Queue the end of the response on the caller's batch, so the done event goes out
        together with the writes that finish the response, or not at all."""
        event = _done_event(self._fields(self.seq), error)
        send_live_event_in(batch, self.session_id, event.model_dump_json())
        self.seq += 1


class DurableResponse(ResponsePublisher):
    """A task's result or a notice, which may land while no voice session listens: appended to
    the session's inbox first, then published. Its sequence numbers come from Redis, because
    several processes (the router that queued a task, the worker that runs it, a worker that
    retries it) add events to the same response."""

    async def _publish(self, make: Callable[[dict[str, Any]], BotEvent]) -> None:
        seq_key = keys.session_response_seq(self.session_id)
        numbering = new_batch(self.redis)
        numbering.hincrby(seq_key, self.response_id, 1)
        numbering.expire(seq_key, keys.INBOX_TTL_SECONDS)
        next_seq, _ = await numbering.execute()
        event = make(self._fields(int(next_seq) - 1))
        inbox = keys.session_inbox(self.session_id)
        appending = new_batch(self.redis)
        appending.xadd(
            inbox,
            {keys.EVENT_FIELD: event.model_dump_json()},
            maxlen=keys.INBOX_MAXLEN,
            approximate=True,
        )
        appending.expire(inbox, keys.INBOX_TTL_SECONDS)
        inbox_id, _ = await appending.execute()
        event = event.model_copy(update={"inbox_id": inbox_id})
        await self.redis.publish(keys.session_events(self.session_id), event.model_dump_json())
        self.seq = event.seq + 1
