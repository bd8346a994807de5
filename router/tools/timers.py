"""Countdown timers: set, cancel and list them, and announce each once when it ends (by
whichever router replica sees it due first)."""

import asyncio
import logging
import re
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from router.tools.misc import NoArgs, duration
from router.tools.registry import ToolContext, ToolError, phrase, tool
from router.tools.spoken import NUMBER, whole_number
from shared.actions import AnyAction, TimerEnd, TimerStart
from shared.bus.responses import DurableResponse, LiveResponse
from shared.bus.screen import Timer, UiState, change_ui
from shared.bus.timers import DueTimer, TimerSchedule
from shared.messages import new_id

log = logging.getLogger(__name__)

MAX_TIMERS = 10
MAX_TIMER_SECONDS = 24 * 3600
CHECK_INTERVAL_SECONDS = 0.5
"""How late a timer may be announced, at most, beyond Redis and publish time."""

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
"""By a unit's first letter: seconds/secs, minutes/mins, hours/hrs."""
_LABEL = r"(?:(?P<label>(?!new |the |my |another )[a-z]{3,12}) )?"


_UNIT = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?)"
DURATION = (
    rf"(?:(?:{NUMBER}|a|an|one)(?: and a half)? {_UNIT}(?: and (?:(?:{NUMBER}|a|an|one) {_UNIT}"
    rf"|a half))?|half an hour|half a minute)"
)
"""A duration as said: "ten minutes", "an hour and a half", "1 hour and 20 minutes"."""
_PART = re.compile(rf"(?P<n>{NUMBER}|a|an|one)(?P<half> and a half)?[ -](?P<unit>{_UNIT})")
"""One amount and unit; "a 30-second timer" says its duration with a hyphen."""


def duration_seconds(said: str) -> int | None:
    """Seconds in a `DURATION`, or None when it is not one."""
    said = said.strip()
    if said in ("half an hour", "half a minute"):
        return 1800 if said.endswith("hour") else 30
    total = 0.0
    rest = said
    for _ in range(2):
        match = _PART.match(rest)
        if match is None:
            return None
        amount = 1 if match["n"] in ("a", "an", "one") else whole_number(match["n"])
        if not amount:
            return None
        unit = _UNIT_SECONDS[match["unit"][0]]
        total += (amount + (0.5 if match["half"] else 0)) * unit
        rest = rest[match.end() :].removeprefix(" and ")
        if rest == "a half":
            total += 0.5 * unit
            rest = ""
        if not rest:
            return int(total)
    return None


def _timer(match: re.Match[str], _ui: object) -> dict[str, object] | None:
    seconds = duration_seconds(match["duration"])
    if not seconds:
        return None
    arguments: dict[str, object] = {"seconds": seconds}
    if match.groupdict().get("label"):
        arguments["label"] = match["label"]
    return arguments


def _running(arguments: dict[str, object]) -> Callable[[re.Match[str], UiState], dict | None]:
    """`arguments` while a timer is running ("how much time is left" means a timer then)."""
    return lambda _m, ui: dict(arguments) if ui.timers else None


class TimerArgs(BaseModel):
    seconds: int = Field(ge=1, le=MAX_TIMER_SECONDS, description="Duration in seconds")
    label: str = Field(default="timer", max_length=60, description="e.g. 'pasta'")


class CancelTimerArgs(BaseModel):
    label: str | None = Field(default=None, max_length=60, description="Omit for the latest")


@tool(
    "Start a countdown timer.",
    phrasings=(
        phrase(
            rf"(?:set |start |make |put on )?(?:a |an |the )?{_LABEL}timer (?:for |of )?"
            rf"(?P<duration>{DURATION})",
            _timer,
        ),
        phrase(
            rf"(?:set|start|make|put on) (?:a |an )?(?P<duration>(?:{NUMBER}|one)[ -]"
            rf"(?:second|minute|hour)) {_LABEL}timer",
            _timer,
        ),
        phrase(rf"(?:remind me|tell me|let me know) in (?P<duration>{DURATION})", _timer),
        phrase(rf"count ?down (?:from |for )?(?P<duration>{DURATION})", _timer),
    ),
)
async def set_timer(args: TimerArgs, ctx: ToolContext) -> str:
    timer = Timer(
        id=new_id(), label=args.label.strip() or "timer", ends_at=time.time() + args.seconds
    )

    def start(state: UiState) -> list[AnyAction]:
        if len(state.timers) >= MAX_TIMERS:
            raise ToolError("too many timers are running")
        state.timers.append(timer)
        return [TimerStart(timer_id=timer.id, label=timer.label, ends_at=timer.ends_at)]

    await change_ui(ctx.publisher, start)
    due = DueTimer(session_id=ctx.session_id, timer_id=timer.id, label=timer.label)
    await ctx.stores.timers.schedule(due, timer.ends_at)
    name = "Timer" if timer.label == "timer" else f"{timer.label.capitalize()} timer"
    return f"{name} set for {duration(args.seconds)}."


@tool(
    "Cancel a running timer.",
    phrasings=(
        phrase(
            r"(?:cancel|stop|kill|end|delete|remove|clear|turn off) (?:the|my) "
            r"(?:(?P<label>[a-z]{3,12}) )?timer",
            lambda m, _ui: {"label": m["label"]} if m["label"] else {},
        ),
    ),
)
async def cancel_timer(args: CancelTimerArgs, ctx: ToolContext) -> str:
    cancelled: Timer | None = None

    def cancel(state: UiState) -> list[AnyAction]:
        nonlocal cancelled
        if not state.timers:
            raise ToolError("no timer is running")
        wanted = (args.label or "").casefold().strip()
        matches = [t for t in state.timers if not wanted or wanted in t.label.casefold()]
        if not matches:
            raise ToolError(f"no {args.label} timer is running")
        cancelled = matches[-1]
        state.timers = [t for t in state.timers if t.id != cancelled.id]
        return [TimerEnd(timer_id=cancelled.id, cancelled=True)]

    await change_ui(ctx.publisher, cancel)
    assert cancelled is not None
    due = DueTimer(session_id=ctx.session_id, timer_id=cancelled.id, label=cancelled.label)
    await ctx.stores.timers.unschedule(due)
    return f"Cancelled the {cancelled.label} timer."


@tool(
    "List running timers and the time left on each.",
    phrasings=(
        phrase(
            r"how (?:much time|long) is (?:left|remaining) on (?:the|my) (?:[a-z]{3,12} )?timers?"
            r"|(?:what|which) timers are (?:running|set|on|going)|(?:list|show me|check) "
            r"(?:the |my |all )?timers?|how (?:much time|long) (?:is )?left on (?:the|my) timer",
            _running({}),
        ),
    ),
)
async def list_timers(args: NoArgs, ctx: ToolContext) -> str:
    state = await ctx.stores.screens.load(ctx.session_id)
    now = time.time()
    running = [t for t in state.timers if t.ends_at > now]
    if not running:
        return "No timers are running."
    return "Timers: " + "; ".join(
        f"{t.label}, {duration(round(t.ends_at - now))} left" for t in running
    )


TOOLS = [set_timer, cancel_timer, list_timers]


async def announce_due_timers(redis: aioredis.Redis, now: float | None = None) -> int:
    """Announce every timer due by `now`; ZREM decides which replica announces. Returns count."""
    announced = 0
    for due in await TimerSchedule(redis).claim_due(now if now is not None else time.time()):
        publisher = DurableResponse(redis, due.session_id, f"timer-{due.timer_id}", origin="notice")

        def end(state: UiState, timer_id: str = due.timer_id) -> list[AnyAction]:
            state.timers = [t for t in state.timers if t.id != timer_id]
            return [TimerEnd(timer_id=timer_id, cancelled=False)]

        # The screen change is its own (non-durable) response: actions are state the client
        # re-reads, while the spoken notice must reach the user even after a reconnect.
        await change_ui(LiveResponse(redis, due.session_id, f"timer-{due.timer_id}-screen"), end)
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
