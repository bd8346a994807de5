"""The router's consume loop: turns from the Redis Stream, through the consumer group, answered.

Each turn is read by one replica, answered, and acked only after its done event is published.
While a turn is being answered its entry is re-claimed periodically (a heartbeat), so only the
turns of a replica that really died go idle and are taken over by another (XAUTOCLAIM).
"""

import asyncio
import logging
import os
import socket
import weakref
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router.conversation import SPOKEN_INTERNAL_ERROR, TurnAnswerer
from shared.bus.connection import (
    log_outage,
    until_redis_answers,
)
from shared.bus.responses import LiveResponse
from shared.bus.turns import (
    TURN_FIELD,
    TurnGroup,
    earlier_turn_open,
    group_is_missing,
    turn_standing,
)
from shared.messages import UserTurn
from shared.untrusted import parse_json

log = logging.getLogger(__name__)

MAX_DELIVERIES = 3
"""A turn that crashed this many routers is dead-lettered instead of retried again."""
EARLY_EMPTY_READ_PAUSE = 0.01
"""Seconds to wait after an empty read that returned well before its block time."""
READ_BLOCK_MS = 1000
"""Default wait of one XREADGROUP, which bounds how quickly a stop request is noticed."""
ORDER_POLL_SECONDS = (0.01, 0.2)
"""First and longest wait between checks for an earlier open turn of the same session."""
ORDER_WAIT_MARGIN_SECONDS = 30.0
"""How long past the reclaim time a turn waits for an earlier one before going ahead."""


def consumer_name() -> str:
    """Unique per process, also across containers of a scaled service."""
    return f"router-{socket.gethostname()}-{os.getpid()}"


def _addressee_of(raw: str | None) -> tuple[str, str] | None:
    """(session id, turn id) of an entry that failed validation, when they can be told."""
    try:
        fields = parse_json(raw or "")
        turn = UserTurn(
            session_id=fields["session_id"],
            turn_id=str(fields.get("turn_id") or "rejected")[:64],
            text="",
        )
    except (ValueError, KeyError, TypeError, ValidationError):
        return None
    return turn.session_id, turn.turn_id


def _read_turn(raw: str | None) -> UserTurn:
    """The turn an entry holds; ValueError with a reason fit for the dead-letter stream for
    anything else, whatever went wrong (a poison entry must be rejected once, not crash the
    handler before its ack and come back at every reclaim)."""
    try:
        return UserTurn.model_validate_json(raw or "")
    except ValidationError as exc:
        raise ValueError(
            "; ".join(f"{'.'.join(map(str, e['loc'])) or 'turn'}: {e['msg']}" for e in exc.errors())
        ) from None
    except Exception as exc:
        raise ValueError(f"unreadable: {exc.__class__.__name__}") from None


class TurnConsumer:
    """Reads turns for one router process and answers them concurrently, in order per session."""

    def __init__(
        self,
        redis: aioredis.Redis,
        answerer: TurnAnswerer,
        name: str,
        concurrency: int,
        reclaim_idle_ms: int,
        read_block_ms: int = READ_BLOCK_MS,
    ) -> None:
        self.redis = redis
        self.answerer = answerer
        self.name = name
        self.concurrency = concurrency
        self.reclaim_idle_ms = reclaim_idle_ms
        self.read_block_ms = read_block_ms
        self.group = TurnGroup(redis, name)
        self._next_reclaim = 0.0
        """Event-loop time of the next reclaim and heartbeat."""
        self._in_flight: set[asyncio.Task[None]] = set()
        self._handling: set[str] = set()
        """Entry ids being answered here, so re-claiming one of our own (its heartbeat failed
        while Redis was away) does not start a second answer of it."""
        # Set when a turn of the session finishes here, to wake the session's waiting turns
        # at once; lives while a turn of the session waits on it.
        self._turn_finished: weakref.WeakValueDictionary[str, asyncio.Event] = (
            weakref.WeakValueDictionary()
        )

    async def ensure_group(self) -> None:
        """Create the stream and consumer group if they do not exist yet."""
        await self.group.ensure()

    async def run(self, stop: asyncio.Event, grace_seconds: float = 20.0) -> None:
        """Consume until `stop` is set, then let turns in flight finish within `grace_seconds`."""
        await self.ensure_group()
        log.info("consuming %s", self.group)
        retry = until_redis_answers()
        warn = log_outage("consume loop")
        while not stop.is_set():
            try:
                await retry.call_with_retry(
                    self._consume_once, warn, is_retryable=lambda _: not stop.is_set()
                )
            except ResponseError as exc:
                if not group_is_missing(exc):
                    raise
                log.warning("consumer group missing (Redis restarted empty?); recreating it")
                await self.ensure_group()
            except (RedisConnectionError, RedisTimeoutError):
                break  # stopped during an outage: nothing more can be read
        await self._drain(grace_seconds)
        await self.answerer.close()

    async def _consume_once(self) -> None:
        """Reclaim and heartbeat when due, then one read of new turns."""
        loop = asyncio.get_running_loop()
        if loop.time() >= self._next_reclaim:
            await self.reclaim_stale_turns()
            await self.group.heartbeat(socket.gethostname())
            self._next_reclaim = loop.time() + min(self.reclaim_idle_ms / 2000, 10.0)
        await self._read_once()

    async def _read_once(self) -> None:
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            await asyncio.wait(
                self._in_flight,
                timeout=self.read_block_ms / 1000,
                return_when=asyncio.FIRST_COMPLETED,
            )
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        entries = await self.group.read_new(free, self.read_block_ms)
        if not entries and loop.time() - started < self.read_block_ms / 2000:
            # A server that answers a blocking read at once (fakeredis does) must not make us spin.
            await asyncio.sleep(EARLY_EMPTY_READ_PAUSE)
        for entry_id, fields in entries:
            self._start(entry_id, fields)

    def _start(self, entry_id: str, fields: dict[str, Any], attempt: int = 1) -> None:
        task = asyncio.create_task(
            self._handle_entry(entry_id, fields, attempt), name=f"turn-{entry_id}"
        )
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _drain(self, grace_seconds: float) -> None:
        if not self._in_flight:
            return
        log.info("stopping: waiting for %d turn(s) in flight", len(self._in_flight))
        _done, pending = await asyncio.wait(self._in_flight, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("stopping: released %d unfinished turn(s) for another router", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)

    async def reclaim_stale_turns(self) -> int:
        """Take over turns left pending by a router that stopped heart-beating; returns how many."""
        claimed = 0
        cursor = "0-0"
        while True:
            cursor, entries = await self.group.claim_idle(self.reclaim_idle_ms, cursor)
            for entry_id, fields in entries:
                if entry_id in self._handling:
                    continue
                claimed += 1
                deliveries = await self.group.deliveries(entry_id)
                log.warning("reclaimed stale turn entry=%s deliveries=%d", entry_id, deliveries)
                if deliveries > MAX_DELIVERIES:
                    self._start_dead_letter(entry_id, fields, f"failed {deliveries - 1} times")
                else:
                    self._start(entry_id, fields, attempt=deliveries)
            if cursor == "0-0":
                return claimed

    def _start_dead_letter(self, entry_id: str, fields: dict[str, Any], reason: str) -> None:
        task = asyncio.create_task(self._reject(entry_id, fields, reason, SPOKEN_INTERNAL_ERROR))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _keep_claimed(self, entry_id: str) -> None:
        """Reset the entry's idle time while we work on it, so no other router takes it over."""
        while True:
            await asyncio.sleep(self.reclaim_idle_ms / 3000)
            try:
                await self.group.keep_claimed(entry_id)
            except RedisError as exc:
                log.warning("heartbeat failed entry=%s: %s", entry_id, exc)

    async def _handle_entry(self, entry_id: str, fields: dict[str, Any], attempt: int) -> None:
        try:
            turn = _read_turn(fields.get(TURN_FIELD))
        except ValueError as exc:
            await self._reject(entry_id, fields, str(exc), "Sorry, I couldn't read that request.")
            return
        answered, earlier_open = await turn_standing(self.redis, turn)
        if answered:
            log.warning("duplicate entry of an answered turn acked entry=%s", entry_id)
            # Its open mark was set again with the duplicate: clear it, or the session's later
            # turns would wait behind a turn nobody will answer again.
            await self.group.finish_unanswered(entry_id, (turn.session_id, turn.turn_id))
            return
        # The heartbeat starts at once: a turn waiting behind an earlier one is still ours.
        heartbeat = asyncio.create_task(self._keep_claimed(entry_id))
        self._handling.add(entry_id)
        try:
            if earlier_open:
                await self._wait_for_earlier_turns(turn)
            report = await self.answerer.answer(turn, entry_id, attempt)
        except Exception:
            log.exception(
                "turn left pending for retry entry=%s session=%s", entry_id, turn.session_id
            )
            return
        finally:
            heartbeat.cancel()
            self._handling.discard(entry_id)
            finished = self._turn_finished.get(turn.session_id)
            if finished is not None:
                finished.set()
        log.info("%s entry=%s", report.log_line(), entry_id)

    async def _wait_for_earlier_turns(self, turn: UserTurn) -> None:
        """Wait while an earlier turn of the session is open (here or on another replica), at
        most until it would have been reclaimed from a dead router and answered; then go ahead
        and say so in the log. A turn finishing here wakes the waiters; others are polled."""
        finished = self._turn_finished.get(turn.session_id)
        if finished is None:
            finished = self._turn_finished[turn.session_id] = asyncio.Event()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.reclaim_idle_ms / 1000 + ORDER_WAIT_MARGIN_SECONDS
        delay, longest = ORDER_POLL_SECONDS
        while True:
            finished.clear()
            if not await earlier_turn_open(self.redis, turn):
                return
            if loop.time() > give_up:
                log.warning(
                    "turn order: an earlier turn of session=%s is still open; answering turn=%s",
                    turn.session_id,
                    turn.turn_id,
                )
                return
            try:
                await asyncio.wait_for(finished.wait(), delay)
            except TimeoutError:
                delay = min(delay * 2, longest)

    async def _reject(
        self, entry_id: str, fields: dict[str, Any], reason: str, spoken: str
    ) -> None:
        """Dead-letter an entry with its reason, tell its session if it has one, and ack it."""
        log.warning("turn rejected entry=%s reason=%s", entry_id, reason)
        await self.group.dead_letter(entry_id, fields, reason)
        addressee = _addressee_of(fields.get(TURN_FIELD))
        publisher = None
        if addressee is not None:
            publisher = LiveResponse(self.redis, *addressee)
            await publisher.text(spoken)
        await self.group.finish_unanswered(entry_id, addressee, publisher)
