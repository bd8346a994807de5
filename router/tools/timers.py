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
from router.tools.names import quoted
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
    asked=r"\b(timer|remind|reminder|alarm|countdown|minutes?|seconds?|hours?)\b",
    says=lambda a: f"set a timer called {quoted(a.label)} for {a.seconds} seconds",
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
    asked=r"\b(cancel|stop|delete|remove|clear|turn off|kill|never mind)\b",
    says=lambda a: f"cancel the timer {quoted(a.label) if a.label else 'set last'}",
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
    reads_only=True,
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


MAX_DUE_PER_CHECK = 500
"""Timers claimed in one check; a full check is followed by the next at once."""
ANNOUNCING_SESSIONS = 32
"""Sessions announced to at the same time."""


def _announcement(timers: list[DueTimer]) -> str:
    """One sentence for every timer of a session that ended by this check."""
    labels = [t.label for t in timers if t.label.casefold() != "timer"]
    if not labels:
        return "Your timer is done." if len(timers) == 1 else f"Your {len(timers)} timers are done."
    named = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    unnamed = len(timers) - len(labels)
    also = f", and {unnamed} more" if unnamed else ""
    return f"Your {named} timer{'s are' if len(labels) > 1 else ' is'} done{also}."


async def _announce_to_session(redis: aioredis.Redis, timers: list[DueTimer]) -> None:
    """End the session's due timers on its screen and say so once: the same few Redis round
    trips however many of its timers ended together, so no session's burst delays another's.
    A screen that cannot be changed does not stop the spoken notice."""
    first = timers[0]
    ended = {t.timer_id for t in timers}

    def end(state: UiState) -> list[AnyAction]:
        state.timers = [t for t in state.timers if t.id not in ended]
        return [TimerEnd(timer_id=timer_id, cancelled=False) for timer_id in sorted(ended)]

    # The screen change is its own (non-durable) response: actions are state the client
    # re-reads, while the spoken notice must reach the user even after a reconnect.
    screen = LiveResponse(redis, first.session_id, f"timer-{first.timer_id}-screen")
    try:
        await change_ui(screen, end)
    except RedisError:
        raise
    except Exception:
        log.exception("timer screen change failed session=%s", first.session_id)
    notice = DurableResponse(redis, first.session_id, f"timer-{first.timer_id}", origin="notice")
    await notice.text(_announcement(timers))
    await notice.done()


async def announce_due_timers(redis: aioredis.Redis, now: float | None = None) -> int:
    """Announce every timer due by `now` (at most MAX_DUE_PER_CHECK); ZREM decides which
    replica announces one. Sessions are announced to side by side, each once per check; one
    session's failure is logged and the others still hear theirs. Returns the timers claimed."""
    due = await TimerSchedule(redis).claim_due(
        now if now is not None else time.time(), MAX_DUE_PER_CHECK
    )
    by_session: dict[str, list[DueTimer]] = {}
    for timer in due:
        by_session.setdefault(timer.session_id, []).append(timer)
    gate = asyncio.Semaphore(ANNOUNCING_SESSIONS)

    async def announce(timers: list[DueTimer]) -> None:
        async with gate:
            await _announce_to_session(redis, timers)

    outcomes = await asyncio.gather(
        *(announce(timers) for timers in by_session.values()), return_exceptions=True
    )
    for timers, outcome in zip(by_session.values(), outcomes, strict=True):
        if isinstance(outcome, BaseException):
            log.error("timer announcement failed session=%s: %r", timers[0].session_id, outcome)
    return len(due)


async def run_timer_announcer(redis: aioredis.Redis, stop: asyncio.Event) -> None:
    """Check for due timers until `stop` is set; a full check is followed by the next at once."""
    while not stop.is_set():
        claimed = 0
        try:
            claimed = await announce_due_timers(redis)
        except RedisError as exc:
            log.warning("timer check failed: %s", exc)
        except Exception:
            log.exception("timer check failed")
        if claimed >= MAX_DUE_PER_CHECK:
            continue
        try:
            await asyncio.wait_for(stop.wait(), CHECK_INTERVAL_SECONDS)
        except TimeoutError:
            pass
