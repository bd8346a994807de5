"""Timers that end: announced once, by whichever router replica sees them due first."""

import asyncio
import logging
import time

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import RedisError

from router.ui import UiState, change_ui
from shared import keys
from shared.actions import AnyAction, TimerEnd
from shared.connection import decode_member, raw_members_by_score
from shared.dropped import drop
from shared.events import ResponsePublisher
from shared.messages import SessionId

CHECK_INTERVAL_SECONDS = 0.5
"""How late a timer may be announced, at most, beyond Redis and publish time."""

log = logging.getLogger(__name__)


class DueTimer(BaseModel):
    """A running timer as scheduled in `bot:timers:due`; the score is its end time."""

    model_config = ConfigDict(frozen=True)

    session_id: SessionId
    timer_id: str
    label: str


async def announce_due_timers(redis: aioredis.Redis, now: float | None = None) -> int:
    """Announce every timer due by `now`; ZREM decides which replica announces. Returns count."""
    due_members = await raw_members_by_score(
        redis, keys.TIMERS_DUE, now if now is not None else time.time(), count=50
    )
    announced = 0
    for member in due_members:
        if await redis.zrem(keys.TIMERS_DUE, member) != 1:
            continue  # another replica announces it
        text = decode_member(member)
        try:
            due = DueTimer.model_validate_json(text or "")
        except ValidationError:
            drop("timer", member)
            continue
        publisher = ResponsePublisher(
            redis, due.session_id, f"timer-{due.timer_id}", origin="notice", durable=True
        )

        def end(state: UiState, timer_id: str = due.timer_id) -> list[AnyAction]:
            state.timers = [t for t in state.timers if t.id != timer_id]
            return [TimerEnd(timer_id=timer_id, cancelled=False)]

        # The screen change is its own (non-durable) response: actions are state the client
        # re-reads, while the spoken notice must reach the user even after a reconnect.
        await change_ui(
            ResponsePublisher(redis, due.session_id, f"timer-{due.timer_id}-screen"), end
        )
        label = "" if due.label.casefold() == "timer" else f"{due.label} "
        await publisher.text(f"Your {label}timer is done.")
        await publisher.done()
        announced += 1
    return announced


async def run_timer_announcer(redis: aioredis.Redis, stop: asyncio.Event) -> None:
    """Check for due timers until `stop` is set."""
    while not stop.is_set():
        try:
            await announce_due_timers(redis)
        except RedisError as exc:
            log.warning("timer check failed: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), CHECK_INTERVAL_SECONDS)
        except TimeoutError:
            pass
