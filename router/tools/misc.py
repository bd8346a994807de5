"""Everyday helpers: the time and date, timers, and what is playing."""

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

from router.timers import DueTimer
from router.tools.registry import ToolContext, ToolError, phrase, tool
from router.tools.spoken import NUMBER, whole_number
from router.ui import Timer, UiState, change_ui, load_ui
from shared import keys
from shared.actions import AnyAction, TimerEnd, TimerStart
from shared.messages import new_id

MAX_TIMERS = 10
MAX_TIMER_SECONDS = 24 * 3600


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "0 seconds"


_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600}


def _timer(match: re.Match[str], _ui: object) -> dict[str, object] | None:
    amount = whole_number(match["n"])
    if not amount:
        return None
    arguments: dict[str, object] = {"seconds": amount * _UNIT_SECONDS[match["unit"].rstrip("s")]}
    if match["label"]:
        arguments["label"] = match["label"]
    return arguments


class NoArgs(BaseModel):
    pass


class TimerArgs(BaseModel):
    seconds: int = Field(ge=1, le=MAX_TIMER_SECONDS, description="Duration in seconds")
    label: str = Field(default="timer", max_length=60, description="e.g. 'pasta'")


class CancelTimerArgs(BaseModel):
    label: str | None = Field(default=None, max_length=60, description="Omit for the latest")


@tool(
    "Tell the current time, date and day of the week.",
    phrasings=(
        phrase(
            r"what time is it|what's the time|tell me the time|what(?:'s| is) (?:the date|"
            r"today's date)(?: today)?|what day is it(?: today)?"
        ),
    ),
)
async def current_time(args: NoArgs, ctx: ToolContext) -> str:
    now = datetime.now(_zone(ctx.timezone))
    return now.strftime(f"It is %H:%M on %A, %d %B %Y ({ctx.timezone}).")


@tool(
    "Start a countdown timer.",
    phrasings=(
        phrase(
            rf"(?:set |start )?(?:a |an )?(?:(?P<label>[a-z]{{3,12}}) )?timer for (?P<n>{NUMBER}) "
            r"(?P<unit>seconds?|minutes?|hours?)",
            _timer,
        ),
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
    await ctx.redis.zadd(keys.TIMERS_DUE, {due.model_dump_json(): timer.ends_at})
    name = "Timer" if timer.label == "timer" else f"{timer.label.capitalize()} timer"
    return f"{name} set for {_duration(args.seconds)}."


@tool(
    "Cancel a running timer.",
    phrasings=(
        phrase(
            r"(?:cancel|stop) (?:the|my) (?:(?P<label>[a-z]{3,12}) )?timer",
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
    await ctx.redis.zrem(keys.TIMERS_DUE, due.model_dump_json())
    return f"Cancelled the {cancelled.label} timer."


@tool("List running timers and the time left on each.")
async def list_timers(args: NoArgs, ctx: ToolContext) -> str:
    state = await load_ui(ctx.redis, ctx.session_id)
    now = time.time()
    running = [t for t in state.timers if t.ends_at > now]
    if not running:
        return "No timers are running."
    return "Timers: " + "; ".join(
        f"{t.label}, {_duration(round(t.ends_at - now))} left" for t in running
    )


@tool(
    "Say what is playing on YouTube and the soundtrack.",
    phrasings=(phrase(r"what's playing|what is playing|what's playing right now"),),
)
async def now_playing(args: NoArgs, ctx: ToolContext) -> str:
    state = await load_ui(ctx.redis, ctx.session_id)
    parts = []
    if state.youtube and state.youtube.status != "stopped":
        parts.append(
            f"YouTube is {state.youtube.status} {state.youtube.title or state.youtube.query}"
        )
    music = state.soundtrack
    if music.status != "stopped":
        what = music.track or f"{music.mood} music"
        volume = "muted" if music.muted else f"at volume {music.volume}"
        parts.append(f"the soundtrack is {music.status} {what}, {volume}")
    return ("; ".join(parts) + ".") if parts else "Nothing is playing."


TOOLS = [current_time, set_timer, cancel_timer, list_timers, now_playing]
