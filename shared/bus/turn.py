"""One turn's Redis state, by name: read in one round trip when the turn starts, written in one
step with the ack of its stream entry when it ends.

What it touches belongs to key families with modules of their own (the minute's turn count in
`turns.py`, the screen in `screen.py`, history, the waiting question, the journal, the reply);
this is the one place a turn's answerer meets them.
"""

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from shared.bus import confirmations
from shared.bus.commands import new_batch
from shared.bus.confirmations import PendingConfirmation
from shared.bus.history import Message, SessionHistory
from shared.bus.journal import TurnJournal
from shared.bus.responses import LiveResponse
from shared.bus.screen import UiState, read_ui_in, ui_from
from shared.bus.turns import close_turn_in, count_turn_in, run_with_ack
from shared.messages import UserTurn


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
    steps: list[Message]
    """The model steps an earlier attempt journaled (a taken-over turn; else none)."""
    said: list[str]
    """What an earlier attempt already said, in order (a taken-over turn; else none)."""


@dataclass(frozen=True)
class TurnEnd:
    """What ending a turn writes besides its done event and closing it."""

    error: str | None = None
    exchange: tuple[Message, ...] = ()
    """The messages the session's history keeps of the turn (none for a refused turn)."""
    asking: PendingConfirmation | None = None
    """The question this turn asked, kept for the next turn."""
    forget_question: bool = False
    """The question the last turn asked is answered, or the user moved on."""


class BusTurn:
    """One attempt at a turn, on the bus: its reply, its journal, how it starts and ends."""

    def __init__(
        self, redis: aioredis.Redis, history: SessionHistory, turn: UserTurn, attempt: int
    ) -> None:
        self.redis = redis
        self.history = history
        self.turn = turn
        self.attempt = attempt
        self.publisher = LiveResponse.for_attempt(redis, turn.session_id, turn.turn_id, attempt)
        self.journal = TurnJournal(redis, turn.session_id, turn.turn_id)

    async def begin(self) -> TurnStart:
        """Count a first attempt in its session's minute and read the rest (and, for a
        taken-over turn, its journal and what was said), in one transaction."""
        batch = new_batch(self.redis)
        session_id, first_attempt = self.turn.session_id, self.attempt == 1
        at: dict[str, int] = {}

        def reading(name: str) -> Pipeline:
            at[name] = len(batch)  # where this read's replies begin
            return batch

        if first_attempt:
            count_turn_in(reading("count"), session_id)
        read_ui_in(reading("screen"), session_id)
        self.history.read_in(reading("history"), session_id)
        confirmations.read_in(reading("waiting"), session_id)
        if not first_attempt:
            self.journal.read_in(reading("journal"))
            self.publisher.read_said_in(reading("said"))
        replies = await batch.execute()
        return TurnStart(
            turns_this_minute=int(replies[at["count"]]) if first_attempt else 0,
            screen=ui_from(replies[at["screen"]]),
            history_reply=replies[at["history"]],
            waiting=confirmations.pending_from(replies[at["waiting"]]),
            steps=[] if first_attempt else self.journal.steps_from(replies[at["journal"]]),
            said=[] if first_attempt else self.publisher.said_from(replies[at["said"]]),
        )

    async def finish(self, end: TurnEnd, entry_id: str | None) -> bool:
        """End the turn in one step: the question kept or forgotten, the exchange in history,
        the journal dropped, the done event, the turn closed, only with the ack that takes its
        stream entry off the pending list; False (nothing written) if another router had
        finished it already. A turn never on the stream (`entry_id` None: benchmarks) just
        has its writes run. OversizedWrite (nothing written) past the script's bounds."""
        batch = new_batch(self.redis)
        session_id = self.turn.session_id
        if end.asking is not None:
            confirmations.ask_in(batch, session_id, end.asking)
        elif end.forget_question:
            confirmations.forget_in(batch, session_id)
        self.history.append_in(batch, session_id, list(end.exchange))
        self.journal.delete_in(batch)
        self.publisher.done_in(batch, end.error)
        if entry_id is None:
            await batch.execute()
            return True
        close_turn_in(batch, session_id, self.turn.turn_id)
        return await run_with_ack(self.redis, batch, entry_id)
