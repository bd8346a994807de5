"""Soundtrack: the background music: play a track or a mood, pause, skip, volume, mute."""

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from router.tools.misc import PLAYER_CONTROL_WORDS
from router.tools.names import quoted
from router.tools.registry import ToolContext, ToolError, phrase, tool
from router.tools.spoken import NUMBER, whole_number
from shared.actions import AnyAction, SoundtrackControl, SoundtrackPlay, SoundtrackVolume
from shared.bus.screen import UiState, change_ui

MOODS = ("calm", "focus", "happy", "energetic", "sad", "epic", "lofi", "jazz", "ambient", "sleep")


_BARE = {
    "pause": "pause",
    "stop": "pause",
    "resume": "resume",
    "unpause": "resume",
    "continue": "resume",
    "next": "next",
    "skip": "next",
    "previous": "previous",
}


def _only_music_active(match: re.Match[str], ui: UiState) -> dict[str, str] | None:
    """A bare "pause" or "next" means the soundtrack only when it is the one player in use."""
    if ui.active_players != {"soundtrack"}:
        return None
    return {"command": _BARE[match["command"]]}


def _music_means_soundtrack(match: re.Match[str], ui: UiState) -> dict[str, str] | None:
    """ "Pause the music" means the soundtrack unless YouTube is playing (then it means YouTube
    when it is the only player, and either when both are)."""
    if "youtube" in ui.active_players:
        return None
    return {"command": _BARE[match["command"]]}


def _volume(match: re.Match[str], ui: UiState) -> dict[str, int] | None:
    volume = whole_number(match["n"])
    if volume is None or not 0 <= volume <= 100:
        return None
    return _unless_youtube_meant(match, ui, {"volume": volume})


def _unless_youtube_meant(
    match: re.Match[str], ui: UiState, changes: dict[str, Any]
) -> dict[str, Any] | None:
    """A volume change names the soundtrack ("the background music"), or means it only while no
    video is heard: "turn it down" over a playing video may mean the video (a paused one is
    silent, so then it means the music)."""
    video_heard = ui.youtube is not None and ui.youtube.status == "playing"
    if _NAMES_SOUNDTRACK.search(match[0]) or not video_heard:
        return changes
    return None


def _step(sign: int) -> Callable[[re.Match[str], UiState], dict[str, Any] | None]:
    """A relative change: a named amount ("up by 20"), else a step of 10."""

    def change(match: re.Match[str], ui: UiState) -> dict[str, Any] | None:
        amount = whole_number(match["n"]) if match.groupdict().get("n") else STEP
        if amount is None or not 0 < amount <= 100:
            return None
        return _unless_youtube_meant(match, ui, {"change": sign * amount})

    return change


STEP = 10
"""What "louder", "a bit quieter" or "turn it down" change the volume by."""
_MOOD = rf"(?P<mood>{'|'.join(MOODS)})"
_NAMES_SOUNDTRACK = re.compile(r"soundtrack|background")
_THE_MUSIC = (
    r"(?:(?:the|this|my) )?(?:background music|soundtrack|music|song|track|tunes|sound|audio"
    r"|volume|it)"
)
_UP = r"(?:turn|crank|bring|pump|put) {m} up|(?:raise|increase|boost) {m}|{m} up|louder"
_DOWN = r"(?:turn|bring|put) {m} down|(?:lower|decrease|reduce|soften) {m}|{m} down|quieter|softer"
_A_BIT_WORDS = r"a bit|a little|a little bit|slightly|a touch"
_A_BIT = rf"(?: (?:{_A_BIT_WORDS}))?"
_A_BIT_FIRST = rf"(?:(?:{_A_BIT_WORDS}) )?"
_BY = rf"(?: by (?P<n>{NUMBER})(?: percent)?)?"


class PlayArgs(BaseModel):
    track: str | None = Field(default=None, max_length=120, description="A track name")
    mood: str | None = Field(default=None, description=f"One of: {', '.join(MOODS)}")

    @model_validator(mode="after")
    def _known_mood(self) -> "PlayArgs":
        if self.mood is not None:
            self.mood = self.mood.casefold().strip()
            if self.mood not in MOODS:
                raise ValueError(f"unknown mood {self.mood!r}; moods: {', '.join(MOODS)}")
        return self


class ControlArgs(BaseModel):
    command: Literal["pause", "resume", "next", "previous"]


class VolumeArgs(BaseModel):
    volume: int | None = Field(default=None, ge=0, le=100, description="0-100")
    change: int | None = Field(
        default=None, ge=-100, le=100, description="e.g. +10 louder, -10 quieter"
    )
    mute: bool | None = None


@tool(
    "Play background music (the soundtrack): a track, a mood, or resume the last one.",
    phrasings=(
        *(
            phrase(said, lambda m, _ui: {"mood": m["mood"]})
            for said in (
                rf"(?:play|put on|start) (?:some |a bit of )?{_MOOD} "
                r"(?:background )?(?:music|songs|tunes)(?: in the background)?",
                rf"(?:play|put on) (?:some )?{_MOOD} in the background",
                rf"(?:play|put on) (?:some )?something {_MOOD}",
                rf"i (?:want|need|'d like|would like) (?:some )?{_MOOD} music",
            )
        ),
        phrase(
            r"(?:play|start|put on) (?:the |some )?(?:soundtrack|background music)"
            r"|(?:play|start) the music",
            lambda _m, ui: {} if "youtube" not in ui.active_players else None,
        ),
    ),
    asked=rf"\b(play|put on|music|soundtrack|song|track|tunes?|mood|vibe|{'|'.join(MOODS)})\b",
    says=lambda a: f"play {quoted(a.track or a.mood or 'the soundtrack', 60)}",
)
async def soundtrack_play(args: PlayArgs, ctx: ToolContext) -> str:
    def play(state: UiState) -> list[AnyAction]:
        music = state.soundtrack
        if args.track or args.mood:
            music.track, music.mood = args.track, args.mood
        elif music.track is None and music.mood is None:
            music.mood = "calm"
        music.status = "playing"
        return [SoundtrackPlay(track=music.track, mood=music.mood)]

    state = await change_ui(ctx.publisher, play)
    music = state.soundtrack
    return f"Playing {music.track or f'{music.mood} music'}."


@tool(
    "Pause, resume, next or previous track of the soundtrack.",
    phrasings=(
        phrase(
            r"(?P<command>pause|stop|resume|unpause) (?:the )?soundtrack",
            lambda m, _ui: {"command": _BARE[m["command"]]},
        ),
        phrase(
            r"(?P<command>pause|stop|resume|unpause) (?:the )?(?:music|song)",
            _music_means_soundtrack,
        ),
        phrase(
            r"(?:play the )?next (?:track|song)|skip (?:this|the) (?:track|song)",
            {"command": "next"},
        ),
        phrase(
            r"(?:play the )?previous (?:track|song)|(?:go )?back (?:a|one) (?:track|song)"
            r"|(?:play the )?last (?:track|song)",
            {"command": "previous"},
        ),
        phrase(
            r"(?P<command>pause|resume|unpause|continue|next|skip|previous)(?: it)?",
            _only_music_active,
        ),
    ),
    asked=PLAYER_CONTROL_WORDS,
    says=lambda a: f"{a.command} the soundtrack",
)
async def soundtrack_control(args: ControlArgs, ctx: ToolContext) -> str:
    def control(state: UiState) -> list[AnyAction]:
        music = state.soundtrack
        if music.status == "stopped" and args.command != "resume":
            raise ToolError("no soundtrack is playing")
        if music.track is None and music.mood is None:
            raise ToolError("no soundtrack was chosen yet")
        music.status = "paused" if args.command == "pause" else "playing"
        return [SoundtrackControl(command=args.command)]

    await change_ui(ctx.publisher, control)
    return {"pause": "Music paused.", "resume": "Music resumed."}.get(
        args.command, f"Playing the {args.command} track."
    )


@tool(
    "Set the soundtrack volume (0-100), change it by an amount, mute or unmute.",
    phrasings=(
        phrase(
            rf"(?:set |turn )?(?:the )?(?:music )?volume(?: to| at)? (?P<n>{NUMBER})(?: percent)?",
            _volume,
        ),
        phrase(
            rf"mute(?: {_THE_MUSIC})?",
            lambda m, ui: _unless_youtube_meant(m, ui, {"mute": True}),
        ),
        phrase(
            rf"unmute(?: {_THE_MUSIC})?",
            lambda m, ui: _unless_youtube_meant(m, ui, {"mute": False}),
        ),
        phrase(rf"turn (?:it|the (?:music|volume|sound)) (?:up|down) to (?P<n>{NUMBER})", _volume),
        phrase(rf"{_A_BIT_FIRST}(?:{_UP.format(m=_THE_MUSIC)}){_A_BIT}{_BY}", _step(1)),
        phrase(rf"{_A_BIT_FIRST}(?:{_DOWN.format(m=_THE_MUSIC)}){_A_BIT}{_BY}", _step(-1)),
        phrase(
            rf"(?:turn|crank) {_THE_MUSIC} (?:all the way|right) up|(?:max|full) volume",
            lambda m, ui: _unless_youtube_meant(m, ui, {"volume": 100}),
        ),
    ),
    asked=r"\b(volume|louder|quieter|softer|mute|unmute|turn (it )?(up|down)|loud|quiet|sound)\b",
    says=lambda a: "change the volume",
)
async def soundtrack_volume(args: VolumeArgs, ctx: ToolContext) -> str:
    if args.volume is None and args.change is None and args.mute is None:
        raise ToolError("say a volume from 0 to 100, louder or quieter, or mute")

    def set_volume(state: UiState) -> list[AnyAction]:
        music = state.soundtrack
        if args.volume is not None:
            music.volume = args.volume
        if args.change is not None:
            music.volume = max(0, min(100, music.volume + args.change))
        if args.mute is not None:
            music.muted = args.mute
        elif args.volume is not None or args.change is not None:
            music.muted = False
        return [SoundtrackVolume(volume=music.volume, muted=music.muted)]

    music = (await change_ui(ctx.publisher, set_volume)).soundtrack
    return "Muted." if music.muted else f"Volume set to {music.volume}."


TOOLS = [soundtrack_play, soundtrack_control, soundtrack_volume]
