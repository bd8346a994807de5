"""What a turn has done so far, kept in Redis so a crashed turn is continued, not redone.

A router that dies mid-turn leaves the turn pending; another replica takes it over. Without a
journal it would ask the model afresh, the model would pick new tool-call ids, and the tools
(create a note, play a video, delegate a task) would run a second time. With it the new replica
replays the model steps already taken and reuses the result of every tool call that already
ran, so each tool call runs once per turn. The one gap left is a crash in the instant between a
tool's own write and the journal's; docs/reliability.md says so.
"""

import json
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from shared.bus import keys
from shared.bus.connection import text_map
from shared.bus.history import Message
from shared.untrusted import parse_json

STEPS_FIELD = "steps"
RESULT_PREFIX = "call:"


class TurnJournal:
    """The journal of one turn: model steps (assistant and tool messages) and tool results."""

    def __init__(self, redis: aioredis.Redis, session_id: str, turn_id: str) -> None:
        self.redis = redis
        self.key = keys.turn_journal(session_id, turn_id)
        self.results: dict[str, str] = {}

    def read_in(self, batch: Pipeline) -> None:
        """Queue reading the journal with other reads (its reply goes to `steps_from`)."""
        batch.hgetall(self.key)

    def steps_from(self, reply: Mapping[Any, Any]) -> list[Message]:
        """The model steps of an earlier attempt, from the journal's HGETALL reply; keeps the
        results of the tool calls it already ran."""
        stored = text_map(reply)
        self.results = {
            field.removeprefix(RESULT_PREFIX): value
            for field, value in stored.items()
            if field.startswith(RESULT_PREFIX)
        }
        steps = parse_json(stored.get(STEPS_FIELD, "[]"))
        return steps if isinstance(steps, list) else []

    async def _write(self, fields: Mapping[FieldT, EncodableT]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key, mapping=fields)
            pipe.expire(self.key, keys.TURN_JOURNAL_TTL_SECONDS)
            await pipe.execute()

    async def save_steps(self, steps: list[Message], results: dict[str, str] | None = None) -> None:
        """Record the model steps taken so far (the whole list: it is a few messages), with
        the results already decided for calls of the last step that must not run."""
        results = results or {}
        self.results.update(results)
        fields: dict[FieldT, EncodableT] = {
            RESULT_PREFIX + call_id: result for call_id, result in results.items()
        }
        await self._write({STEPS_FIELD: json.dumps(steps, ensure_ascii=False), **fields})

    def result_of(self, call_id: str) -> str | None:
        """The result of a tool call an earlier attempt already ran, if it did."""
        return self.results.get(call_id)

    async def save_result(self, call_id: str, result: str) -> None:
        self.results[call_id] = result
        await self._write({RESULT_PREFIX + call_id: result})

    def delete_in(self, batch: Pipeline) -> None:
        """Drop the journal together with the writes that finish the turn."""
        batch.delete(self.key)
