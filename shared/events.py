"""Publishing one response's events to its session, numbered in order."""

import redis.asyncio as aioredis

from shared import keys
from shared.actions import AnyAction
from shared.messages import ActionEvent, AnyBotEvent, ResponseDone, TextChunk


class ResponsePublisher:
    """Sends the chunks and the done event of one response (a turn's reply or a task's result)."""

    def __init__(self, redis: aioredis.Redis, session_id: str, response_id: str) -> None:
        self.redis = redis
        self.session_id = session_id
        self.response_id = response_id
        self.seq = 0
        self.spoken: list[str] = []
        """Every text chunk sent, so the caller can record what the user heard."""

    async def _publish(self, event: AnyBotEvent) -> None:
        await self.redis.publish(self.channel, event.model_dump_json())
        self.seq += 1

    @property
    def channel(self) -> str:
        return keys.session_events(self.session_id)

    def action_events(self, actions: list[AnyAction]) -> list[str]:
        """JSON of action events numbered from the current position, for the caller to publish
        inside its own transaction; call `advance` once they are published."""
        return [
            ActionEvent(
                session_id=self.session_id, response_id=self.response_id, seq=self.seq + i, action=a
            ).model_dump_json()
            for i, a in enumerate(actions)
        ]

    def advance(self, published: int) -> None:
        self.seq += published

    async def text(self, text: str) -> None:
        """Publish one speakable chunk."""
        await self._publish(
            TextChunk(
                session_id=self.session_id, response_id=self.response_id, seq=self.seq, text=text
            )
        )
        self.spoken.append(text)

    async def done(self, error: str | None = None) -> None:
        """Publish the end of the response; `error` names why it ended early, if it did."""
        await self._publish(
            ResponseDone(
                session_id=self.session_id,
                response_id=self.response_id,
                seq=self.seq,
                outcome="error" if error else "ok",
                error=error,
            )
        )
