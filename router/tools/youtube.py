"""YouTube playback: play by words or URL, pause, resume, stop, skip, seek.

With YOUTUBE_API_KEY set, a spoken query is resolved to a video id through the YouTube Data API;
without it (or when the API fails) the action carries the query and the client searches.
"""

import logging
import re
from collections.abc import Callable
from typing import Literal

import httpx
from pydantic import BaseModel, Field

from router.tools.misc import PLAYER_CONTROL_WORDS
from router.tools.names import in_their_words, quoted
from router.tools.registry import ToolContext, ToolError, phrase, tool
from router.tools.spoken import NUMBER, whole_number
from shared.actions import AnyAction, YoutubeControl, YoutubePlay, YoutubeSeek
from shared.bus.screen import UiState, YoutubeState, change_ui

log = logging.getLogger(__name__)

SEARCH_TIMEOUT_SECONDS = 3.0
_VIDEO_URL = re.compile(
    r"(?:youtube\.com/(?:watch\?(?:.*&)?v=|shorts/|embed/)|youtu\.be/)([A-Za-z0-9_-]{11})"
)


async def resolve_video(ctx: ToolContext, query: str) -> tuple[str | None, str | None]:
    """(video id, title) for a query, or (None, None) when it cannot be resolved here."""
    url_match = _VIDEO_URL.search(query)
    if url_match:
        return url_match.group(1), None
    key = ctx.youtube_api_key
    if key is None:
        return None, None
    params = {"part": "snippet", "type": "video", "maxResults": "1", "q": query}
    try:
        async with httpx.AsyncClient(timeout=SEARCH_TIMEOUT_SECONDS) as client:
            response = await client.get(
                f"{ctx.youtube_api_url}/search",
                params={**params, "key": key.get_secret_value()},
            )
            response.raise_for_status()
            items = response.json().get("items") or []
    except (httpx.HTTPError, ValueError) as exc:
        # The key is a query parameter: log the failure's kind and status only, never the URL.
        status = getattr(getattr(exc, "response", None), "status_code", "-")
        log.warning("youtube search failed error=%s status=%s", exc.__class__.__name__, status)
        return None, None
    if not items:
        raise ToolError(f"YouTube has nothing for {query!r}")
    first = items[0]
    return first["id"]["videoId"], first.get("snippet", {}).get("title")


_BARE = {
    "pause": "pause",
    "stop": "stop",
    "resume": "resume",
    "unpause": "resume",
    "continue": "resume",
    "carry on": "resume",
    "keep going": "resume",
    "keep playing": "resume",
    "play": "resume",
    "next": "next",
    "skip": "next",
}


def _only_youtube_active(match: re.Match[str], ui: UiState) -> dict[str, str] | None:
    """A bare "pause" means YouTube only when YouTube is the one player in use."""
    if ui.active_players != {"youtube"}:
        return None
    return {"command": _BARE[match["command"]]}


def _query(match: re.Match[str], _ui: UiState) -> dict[str, str]:
    """The query as said, less a leading "some" ("play some jazz videos on youtube")."""
    return {"query": match["query"].removeprefix("some ")}


def _seconds(sign: int, relative: bool) -> "Callable[[re.Match[str], UiState], dict | None]":
    def build(match: re.Match[str], _ui: UiState) -> dict | None:
        amount = 1 if match["n"] in ("a", "an", "one") else whole_number(match["n"])
        if amount is None or amount <= 0:
            return None
        if match.groupdict().get("unit", "").startswith("minute"):
            amount *= 60
        return {"seconds": sign * amount, "relative": relative}

    return build


class PlayArgs(BaseModel):
    query: str = Field(min_length=1, max_length=200, description="What to play, or a YouTube URL")


class ControlArgs(BaseModel):
    command: Literal["pause", "resume", "stop", "next", "previous"]


class SeekArgs(BaseModel):
    seconds: int = Field(ge=-36_000, le=36_000)
    relative: bool = Field(default=False, description="true: skip by seconds (negative: back)")


@tool(
    "Play a video or music on YouTube by search words or URL.",
    phrasings=(
        phrase(
            r"(?:play|put on|watch) (?P<query>[a-z0-9' ]{2,60}?) on (?:youtube|you tube)",
            _query,
        ),
        phrase(r"(?:youtube|you tube) play (?P<query>[a-z0-9' ]{2,60})", _query),
        phrase(
            r"(?:search|look up|find) (?:on )?(?:youtube|you tube) for (?P<query>[a-z0-9' ]{2,60})",
            _query,
        ),
        phrase(
            r"(?:search|look up|find) (?P<query>[a-z0-9' ]{2,60}?) on (?:youtube|you tube)", _query
        ),
    ),
    asked=lambda a, said: in_their_words(a.query, said),
    says=lambda a: f"play {quoted(a.query, 60)} on YouTube",
)
async def youtube_play(args: PlayArgs, ctx: ToolContext) -> str:
    video_id, title = await resolve_video(ctx, args.query)
    url = f"https://www.youtube.com/watch?v={video_id}" if video_id else None

    def play(state: UiState) -> list[AnyAction]:
        state.youtube = YoutubeState(query=args.query, video_id=video_id, title=title)
        return [YoutubePlay(query=args.query, video_id=video_id, title=title, url=url)]

    await change_ui(ctx.publisher, play)
    return f"Playing {title or args.query} on YouTube."


@tool(
    "Pause, resume, stop, next or previous on the YouTube player.",
    phrasings=(
        phrase(
            r"(?P<command>pause|stop|resume|unpause) (?:the )?(?:video|youtube|youtube video)",
            lambda m, _ui: {"command": _BARE[m["command"]]},
        ),
        phrase(r"(?:play the )?next video|skip (?:this|the) video", {"command": "next"}),
        phrase(
            r"(?:play the |go to the |go back to the )?previous video|(?:go )?back (?:a|one) video"
            r"|(?:play the |go back to the )?last video",
            {"command": "previous"},
        ),
        phrase(r"(?:continue|resume|restart) (?:the )?(?:video|youtube)", {"command": "resume"}),
        phrase(r"(?P<command>carry on|keep going|keep playing)(?: playing)?", _only_youtube_active),
        phrase(r"(?P<command>pause|stop|resume|unpause|continue)(?: it)?", _only_youtube_active),
        phrase(
            r"(?P<command>pause|stop|resume|unpause) (?:the )?(?:music|song)", _only_youtube_active
        ),
    ),
    asked=PLAYER_CONTROL_WORDS,
    says=lambda a: f"{a.command} the video",
)
async def youtube_control(args: ControlArgs, ctx: ToolContext) -> str:
    def control(state: UiState) -> list[AnyAction]:
        player = state.youtube
        if player is None or (player.status == "stopped" and args.command != "resume"):
            raise ToolError("nothing is playing on YouTube")
        if args.command == "pause":
            player.status = "paused"
        elif args.command == "stop":
            player.status = "stopped"
        else:
            player.status = "playing"
        return [YoutubeControl(command=args.command)]

    await change_ui(ctx.publisher, control)
    return {"pause": "Paused.", "resume": "Resumed.", "stop": "Stopped."}.get(
        args.command, f"Playing the {args.command} video."
    )


@tool(
    "Jump to a time in the YouTube video, or skip forward/back by seconds.",
    phrasings=(
        phrase(
            rf"(?:skip|fast forward|go|jump|move)(?: ahead| forward)?(?: by)? (?P<n>{NUMBER}|a|an) "
            r"(?P<unit>seconds?|minutes?)",
            _seconds(1, True),
        ),
        phrase(
            rf"(?:go back|rewind|skip back|jump back|move back)(?: by)? (?P<n>{NUMBER}|a|an) "
            r"(?P<unit>seconds?|minutes?)",
            _seconds(-1, True),
        ),
        phrase(
            rf"(?:jump|go|skip|seek|move) to (?:the )?(?P<n>{NUMBER}) (?P<unit>seconds?|minutes?)"
            r"(?: mark| point)?",
            _seconds(1, False),
        ),
    ),
    asked=r"\b(skip|seek|jump|go|rewind|forward|back|ahead|minutes?|seconds?|start|beginning)\b",
    says=lambda a: f"move the video {'by' if a.relative else 'to'} {a.seconds} seconds",
)
async def youtube_seek(args: SeekArgs, ctx: ToolContext) -> str:
    if not args.relative and args.seconds < 0:
        raise ToolError("a position cannot be negative")

    def seek(state: UiState) -> list[AnyAction]:
        if state.youtube is None or state.youtube.status == "stopped":
            raise ToolError("nothing is playing on YouTube")
        return [YoutubeSeek(seconds=args.seconds, relative=args.relative)]

    await change_ui(ctx.publisher, seek)
    if args.relative:
        direction = "forward" if args.seconds >= 0 else "back"
        return f"Skipped {direction} {abs(args.seconds)} seconds."
    minutes, seconds = divmod(args.seconds, 60)
    return f"Jumped to {minutes}:{seconds:02d}."


TOOLS = [youtube_play, youtube_control, youtube_seek]
