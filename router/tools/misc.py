"""Everyday helpers: the time and date, and what is playing."""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from router.tools.registry import ToolContext, phrase, tool

PLAYER_CONTROL_WORDS = (
    r"\b(pause|resume|stop|next|previous|skip|continue|unpause|go back|back|halt|play)\b"
)
"""Words with which a user asks a player (YouTube or the soundtrack) to pause, go on or skip."""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "0 seconds"


class NoArgs(BaseModel):
    pass


@tool(
    "Tell the current time, date and day of the week.",
    phrasings=(
        phrase(
            r"what time is it|what's the time|tell me the time|what(?:'s| is) (?:the date|"
            r"today's date)(?: today)?|what day is it(?: today)?"
        ),
    ),
    reads_only=True,
)
async def current_time(args: NoArgs, ctx: ToolContext) -> str:
    now = datetime.now(_zone(ctx.timezone))
    return now.strftime(f"It is %H:%M on %A, %d %B %Y ({ctx.timezone}).")


@tool(
    "Say what is playing on YouTube and the soundtrack.",
    phrasings=(
        phrase(
            r"(?:what's|whats|what is) (?:playing|on)(?: right now| now)?|what (?:song|music|track"
            r"|video) is (?:this|playing|on)|what's this (?:song|track|music)"
            r"|what am i (?:listening to|watching)"
        ),
    ),
    reads_only=True,
)
async def now_playing(args: NoArgs, ctx: ToolContext) -> str:
    state = await ctx.stores.screens.load(ctx.session_id)
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


TOOLS = [current_time, now_playing]
