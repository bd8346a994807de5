"""What a turn reads when it starts, in one round trip, by name: how many turns its session
sent this minute, the session's screen, its history and the question its last turn asked."""

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from shared.bus import confirmations
from shared.bus.commands import Commands
from shared.bus.confirmations import PendingConfirmation
from shared.bus.history import SessionHistory
from shared.bus.screen import UiState, read_ui_in, ui_from
from shared.bus.turns import count_turn_in


@dataclass(frozen=True)
class TurnStart:
    """A turn's view of its session at its start."""

    turns_this_minute: int
    """Counting this one; 0 for a taken-over turn (its first attempt counted it)."""
    screen: UiState
    history_reply: list[Any]
    """The history as Redis returned it (`SessionHistory.messages_from` parses it: a tier-0
    turn never needs to)."""
    waiting: PendingConfirmation | None
    """The question the session's last turn asked ("Do you want me to …?"), if any."""


async def begin_turn(
    redis: aioredis.Redis, history: SessionHistory, session_id: str, first_attempt: bool
) -> TurnStart:
    """Count a first attempt in its session's minute and read the rest, in one transaction."""
    batch = Commands()
    first: dict[str, int] = {}

    def reading(name: str) -> Commands:
        first[name] = len(batch.queued)  # where this read's replies begin
        return batch

    if first_attempt:
        count_turn_in(reading("count"), session_id)
    read_ui_in(reading("screen"), session_id)
    history.read_in(reading("history"), session_id)
    confirmations.read_in(reading("waiting"), session_id)
    replies = await batch.run(redis)
    return TurnStart(
        turns_this_minute=int(replies[first["count"]]) if first_attempt else 0,
        screen=ui_from(replies[first["screen"]]),
        history_reply=replies[first["history"]],
        waiting=confirmations.pending_from(replies[first["waiting"]]),
    )
